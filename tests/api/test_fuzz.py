"""API fuzzing: schemathesis generates requests from /api/schema/ (valid and invalid ones) and runs every check on
each response: no server error, status codes, content types, headers and bodies as documented, invalid data
refused, valid data accepted, authentication not ignored. Against gunicorn on the test database, anonymous and
signed in, 25 examples per operation."""
from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import ADDRESS, ROOT, db_env, free_port, wait_for_port

# The data is committed by the module fixture (gunicorn reads it); each test only sends HTTP requests.
pytestmark = [pytest.mark.slow, pytest.mark.django_db]
CSRF = "c" * 32  # a CSRF cookie we choose, echoed in the header as Django expects from a browser


@pytest.fixture(scope="module")
def api(django_db_setup, django_db_blocker):
    """gunicorn with a small catalog, a signed-in customer with an order, and throttles out of the way."""
    from django.contrib.auth.models import User
    from shop.models import Session
    from django.test import Client

    from chatbot.models import Conversation, SupportRequest
    from shop import checkout
    from shop.models import Cart, CartLine, Category, Order, OutboxEmail, Product

    with django_db_blocker.unblock():
        top = Category.objects.create(name="Home", slug="home")
        mugs = Category.objects.create(name="Mugs", slug="mugs", parent=top)
        # Enough stock for any quantity the schema allows: a cart POST the schema calls valid then succeeds (a
        # sold-out product is a 400 the schema cannot foresee).
        products = [Product.objects.create(category=mugs if i % 2 else top, name=f"Mug {i}", slug=f"mug-{i}",
                                           sku=f"FUZZ-{i}", price=Decimal("9.50") + i, stock=100)
                    for i in range(4)]
        user = User.objects.create_user("fuzzer", "fuzzer@example.com", "fuzz-pass-12345")
        cart = Cart.objects.create(user=user)
        CartLine.objects.create(cart=cart, product=products[1], quantity=1)
        order = checkout.place_order(cart, email=user.email, user=user, address=checkout.Address(**ADDRESS))
        client = Client()
        client.force_login(user)
        session = client.cookies["sessionid"].value
        env = db_env()
        # Throttles and the login lockout have their own tests; here they would only answer 429 to the fuzzer.
        env.update(API_THROTTLE_ANON="100000/min", API_THROTTLE_USER="100000/min", API_THROTTLE_CART="100000/min",
                   LOGIN_FAILURE_LIMIT="100000")
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
                                 "-w", "2"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc)
            yield {"base": f"http://127.0.0.1:{port}", "session": session, "order": order.number}
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            OutboxEmail.objects.all().delete()
            Conversation.objects.all().delete()  # what the fuzzer asked the chat assistant
            SupportRequest.objects.all().delete()
            Order.objects.all().delete()
            Cart.objects.all().delete()
            Product.objects.all().delete()
            Category.objects.filter(parent__isnull=False).delete()
            Category.objects.all().delete()
            Session.objects.all().delete()
            User.objects.all().delete()


@pytest.fixture(scope="module")
def anonymous_schema(api):
    return schemathesis.openapi.from_url(api["base"] + "/api/schema/")


@pytest.fixture(scope="module")
def signed_in_schema(api):
    schema = schemathesis.openapi.from_url(api["base"] + "/api/schema/")

    class SessionCookie:
        """The schema's cookieAuth: the customer's session cookie (and a CSRF cookie with its header)."""

        def get(self, case, context):
            return api["session"]

        def set(self, case, data, context):
            case.cookies = {**(case.cookies or {}), "sessionid": data, "csrftoken": CSRF}
            case.headers = {**(case.headers or {}), "X-CSRFToken": CSRF}

    schema.auth()(SessionCookie)
    return schema


anonymous = schemathesis.pytest.from_fixture("anonymous_schema")
signed_in = schemathesis.pytest.from_fixture("signed_in_schema")


def _all_checks():
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    return [c for c in CHECKS.get_all() if c.__name__ != "max_response_time"]  # speed is a benchmark, not a test


@anonymous.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_anonymous(case, api):
    case.call_and_validate(checks=_all_checks())


@signed_in.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_signed_in(case, api):
    case.call_and_validate(checks=_all_checks())
