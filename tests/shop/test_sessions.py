"""shop.sessions (the SESSION_ENGINE): Django's database sessions read together with the visitor's cart lines in one
statement. What a shopper would notice if the read were wrong: a live session (cart, login) must load, an expired or
unknown one must not, and the cart shown must be the cart as it is now (a change in another browser, a row from
before the columns, a request that changes the cart)."""
from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session as DjangoSession
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import cart as carts
from shop.models import Cart, CartLine, Session
from shop.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_engine_is_the_shops():
    assert settings.SESSION_ENGINE == "shop.sessions"


def test_a_live_session_loads_in_one_query_and_an_expired_or_unknown_one_does_not():
    s = SessionStore()
    s["cart_id"] = 42
    s.save()
    key = s.session_key
    with CaptureQueriesContext(connection) as q:
        again = SessionStore(key)
        assert again["cart_id"] == 42 and again.session_key == key
    assert len(q.captured_queries) == 1

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(key)
    assert "cart_id" not in expired and expired.session_key is None  # a new key when saved, as Django's store

    unknown = SessionStore("x" * 32)
    assert dict(unknown.items()) == {} and unknown.session_key is None
    unknown["a"] = 1
    unknown.save()
    assert unknown.session_key and unknown.session_key != "x" * 32  # never adopts a key the client made up


def test_a_signed_in_shopper_stays_signed_in_across_requests(client, django_user_model):
    django_user_model.objects.create_user("ann", "ann@example.com", "a-long-pass-phrase-42")
    assert client.login(username="ann", password="a-long-pass-phrase-42")
    html = client.get("/").content.decode()
    assert "ann" in html and "Log out" in html


def _anonymous_cart(make_product, *quantities):
    cart = Cart.objects.create()
    made = []
    for q in quantities:
        p = make_product(stock=20)
        CartLine.objects.create(cart=cart, product=p, quantity=q)
        made.append((p.pk, None, q))
    store = SessionStore()
    store[carts.SESSION_KEY] = cart.pk
    store.save()
    return cart, store.session_key, tuple(made)


def _request(key, method="get", user=None):
    request = getattr(RequestFactory(), method)("/cart/")
    request.session = SessionStore(key)
    request.user = user or AnonymousUser()
    return request


def test_a_visitors_session_and_cart_lines_are_one_statement(make_product):
    cart, key, lines = _anonymous_cart(make_product, 2, 1)
    assert Session.objects.get(session_key=key).cart_id == cart.pk  # the column written from the data at save
    request = _request(key)
    with CaptureQueriesContext(connection) as q:
        assert carts.line_keys(request) == lines
        assert carts.count(request) == 3
    assert len(q.captured_queries) == 1


def test_a_request_that_changes_things_reads_the_lines_itself(make_product):
    _, key, lines = _anonymous_cart(make_product, 1)
    request = _request(key, "post")
    with CaptureQueriesContext(connection) as q:
        assert carts.line_keys(request) == lines
    assert len(q.captured_queries) == 2


def test_a_session_saved_before_the_columns_existed_still_shows_its_cart(make_product):
    _, key, lines = _anonymous_cart(make_product, 4)
    Session.objects.filter(session_key=key).update(cart_id=None)  # as the migration leaves a copied row
    assert carts.line_keys(_request(key)) == lines


def test_a_cart_changed_in_another_browser_shows_on_the_next_page(make_product, user):
    mug = make_product(name="Blue Mug", stock=9)
    phone, laptop = Client(), Client()
    phone.force_login(user)
    laptop.force_login(user)
    assert Session.objects.filter(user_id=user.pk).count() == 2
    assert 'id="cart-count">0<' in laptop.get("/").content.decode()
    phone.post(f"/cart/add/{mug.pk}/", {"quantity": 2})
    page = laptop.get("/cart/").content.decode()
    assert 'id="cart-count">2<' in page and "Blue Mug" in page
    request = _request(laptop.session.session_key, user=user)
    with CaptureQueriesContext(connection) as q:
        assert carts.line_keys(request) == ((mug.pk, None, 2),)
    assert len(q.captured_queries) == 1  # the signed-in shopper's lines came with the session too


def test_decoded_sessions_are_copies_and_a_save_elsewhere_is_seen():
    s = SessionStore()
    s["orders"] = ["A-1"]
    s.save()
    key = s.session_key
    first = SessionStore(key)
    first["orders"].append("B-2")  # changed in this request only, never saved
    assert SessionStore(key)["orders"] == ["A-1"]
    other = SessionStore(key)
    other["orders"] = ["A-1", "C-3"]
    other.save()  # another worker saves
    assert SessionStore(key)["orders"] == ["A-1", "C-3"]


def test_the_upgrade_moves_live_sessions_and_logs_nobody_out(django_user_model):
    """Migration shop 0011: the live rows of Django's table move to the shop's; expired ones are dropped."""
    migration = importlib.import_module("shop.migrations.0011_sessions_with_cart")
    django_user_model.objects.create_user("ann", "ann@example.com", "a-long-pass-phrase-42")
    client = Client()
    assert client.login(username="ann", password="a-long-pass-phrase-42")
    row = Session.objects.get()
    Session.objects.all().delete()
    DjangoSession.objects.create(session_key=row.session_key, session_data=row.session_data,
                                 expire_date=row.expire_date)
    DjangoSession.objects.create(session_key="e" * 32, session_data=row.session_data,
                                 expire_date=timezone.now() - timedelta(days=1))
    migration.forwards(apps, type("Editor", (), {"connection": connection})())
    assert list(Session.objects.values_list("session_key", flat=True)) == [row.session_key]
    assert not DjangoSession.objects.exists()
    html = client.get("/").content.decode()
    assert "ann" in html and "Log out" in html


def test_without_prepared_statements_the_same_read_works(make_product, monkeypatch):
    """DATABASE_PREPARED_STATEMENTS=false (a pooler that keeps none): Django's own cursor runs the same statement."""
    options = {**connection.settings_dict.get("OPTIONS", {}), "prepare_threshold": None}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    _, key, lines = _anonymous_cart(make_product, 2, 3)
    assert carts.line_keys(_request(key)) == lines


@pytest.mark.django_db(transaction=True)  # as a request: autocommit, no transaction around the read
def test_the_read_is_prepared_once_per_connection(make_product):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    _, key, lines = _anonymous_cart(make_product, 1)
    for _ in range(3):
        assert carts.line_keys(_request(key)) == lines
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%shop_cartline%"])
        assert cur.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_a_statement_the_server_forgot_is_prepared_again(make_product):
    """A pooler's reset or DISCARD ALL drops prepared statements on the server side: the next read prepares it again
    and the shopper sees the cart, not an error."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    _, key, lines = _anonymous_cart(make_product, 2)
    assert carts.line_keys(_request(key)) == lines
    with connection.cursor() as cur:
        cur.execute("DEALLOCATE ALL")
    assert carts.line_keys(_request(key)) == lines
    assert carts.line_keys(_request(key)) == lines


def test_with_an_execute_wrapper_the_read_goes_through_djangos_cursor(make_product):
    """Tools that watch queries with connection.execute_wrapper (APMs, query counters) see the session read."""
    _, key, lines = _anonymous_cart(make_product, 1)
    seen = []

    def watch(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        assert carts.line_keys(_request(key)) == lines
    assert len(seen) == 1 and "shop_cartline" in seen[0]


@pytest.mark.django_db(transaction=True)
def test_a_failing_read_raises_djangos_error_and_the_next_one_works(make_product, monkeypatch):
    """An error on the server comes out as django.db's exception class (what Django's error handling and the
    request's connection cleanup expect), and the connection stays usable."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from django.db import DatabaseError

    from shop import sessions

    _, key, lines = _anonymous_cart(make_product, 1)
    monkeypatch.setattr(sessions, "_PREPARED_NAME", b"shop_session_read_broken")
    monkeypatch.setattr(sessions, "_prepared_on", type(sessions._prepared_on)())
    monkeypatch.setattr(sessions, "_libpq_sql", lambda alias: b"SELECT 1 / 0, $1::text, $2::text")
    with pytest.raises(DatabaseError) as err:
        carts.line_keys(_request(key))
    assert "division by zero" in str(err.value)
    monkeypatch.undo()
    assert carts.line_keys(_request(key)) == lines
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'shop_session_read'")
        assert cur.fetchone()[0] == 1


def test_inside_a_transaction_the_read_goes_through_djangos_cursor(make_product):
    """In an atomic block (a view that reads the session inside one) nothing is prepared behind Django's back: an
    error there would abort the caller's transaction."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    _, key, lines = _anonymous_cart(make_product, 1)
    assert connection.in_atomic_block  # the test's own transaction
    with connection.cursor() as cur:
        cur.execute("DEALLOCATE ALL")  # whatever an earlier test left on this connection
    assert carts.line_keys(_request(key)) == lines
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'shop_session_read'")
        assert cur.fetchone()[0] == 0
