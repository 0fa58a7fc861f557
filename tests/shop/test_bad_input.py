"""Bad input gets a 400 or a 404 with a clear message, never a 500, and changes nothing."""
import base64

import pytest
from django.urls import reverse

from django.contrib.auth.models import User

from shop.models import Order
from tests.conftest import ADDRESS

NUL_GETS = ["/search/?q=%00", "/search/?q=lamp%00", "/api/products/?search=%00", "/api/products/%00/",
            "/api/categories/%00/", "/orders/%00/", "/orders/%00/confirmation/", "/api/products/?category=%00",
            "/c/%00/", "/p/%00/", "/?page=%00"]


@pytest.mark.parametrize("url", NUL_GETS)
def test_nul_byte_in_url_is_a_client_error(client, db, url):
    assert client.get(url).status_code in (400, 404)


def test_nul_byte_in_signed_in_urls(client, user):
    client.force_login(user)
    assert client.get("/api/orders/%00/").status_code in (400, 404)
    assert client.post("/orders/%00/cancel/").status_code in (400, 404)


@pytest.mark.parametrize("url,method", [("/api/products/", "get"), ("/api/categories/", "get"), ("/api/cart/", "get"),
                                        ("/api/cart/", "post"), ("/api/orders/", "get"), ("/api/schema/", "get")])
@pytest.mark.parametrize("credentials", ["al\x00ice:pw", "alice:p\x00w"])
def test_nul_byte_in_basic_credentials_is_refused(client, user, url, method, credentials):
    auth = "Basic " + base64.b64encode(credentials.encode()).decode()
    r = getattr(client, method)(url, HTTP_AUTHORIZATION=auth)
    assert r.status_code in (400, 401, 403)


@pytest.mark.parametrize("length", [255, 300, 320])
def test_overlong_email_is_a_form_error_at_checkout_and_signup(client, make_product, length):
    email = "a" * (length - len("@example.com")) + "@example.com"
    p = make_product(stock=3)
    client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 1})
    r = client.post(reverse("shop:checkout"), {**ADDRESS, "email": email, "payment_method": "cod"})
    assert r.status_code == 200 and "email" in r.context["form"].errors
    assert not Order.objects.exists()
    r = client.post("/accounts/signup/", {"username": "long", "email": email, "password1": "Very-long-pass-42",
                                          "password2": "Very-long-pass-42"})
    assert r.status_code == 200 and "email" in r.context["form"].errors
    assert not User.objects.filter(username="long").exists()


def test_customer_cannot_cancel_a_paid_order(client, make_product, buy, user):
    from shop import order_flow

    p = make_product(stock=5)
    order = buy({p: 2}, user=user)
    order_flow.transition(order, Order.Status.PAID)
    client.force_login(user)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "order-cancel" not in page  # the page never offers it...
    r = client.post(reverse("shop:order_cancel", args=[order.number]), follow=True)
    assert "cannot be cancelled" in r.content.decode()  # ...and a hand-made POST is refused
    order.refresh_from_db()
    p.refresh_from_db()
    assert order.status == Order.Status.PAID and p.stock == 3


def test_customer_cancels_a_pending_order(client, make_product, buy, user):
    p = make_product(stock=5)
    order = buy({p: 2}, user=user)
    client.force_login(user)
    assert "order-cancel" in client.get(order.get_absolute_url()).content.decode()
    client.post(reverse("shop:order_cancel", args=[order.number]))
    order.refresh_from_db()
    p.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and p.stock == 5
