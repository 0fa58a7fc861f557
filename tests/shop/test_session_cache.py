"""Anonymous sessions kept by the web process that read them (shop.sessions, SHOP_SESSION_CACHE_SECONDS): a
visitor's pages after the first need no session read, yet the cart a shopper sees is always the cart as their own
last change left it, in whichever process serves them; a signed-in shopper's session is never kept; a change made
elsewhere shows within the documented seconds. Real PostgreSQL, and gunicorn with two workers for the processes."""
from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shop import sessions
from shop.models import Cart, CartLine, Session
from tests.conftest import ROOT, db_env, free_port, wait_for_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_kept():
    sessions.clear_recent()
    yield
    sessions.clear_recent()


def _session_reads(queries) -> int:
    return sum(1 for q in queries if "shop_session" in q["sql"])


def _add(client, product, quantity=1):
    r = client.post(f"/cart/add/{product.pk}/", {"quantity": quantity})
    assert r.status_code == 302
    return r


def _count(html: str) -> int:
    return int(re.search(r'id="cart-count">(\d+)<', html).group(1))


def _quiet(client):
    """As if the visitor's last change were older than the clocks' margin (the cookie says when it was)."""
    client.cookies[sessions.CHANGED_COOKIE] = str(int((time.time() - sessions.CLOCK_MARGIN - 1) * 1000))


def test_a_change_answers_with_the_cookie_and_later_pages_skip_the_session_read(make_product):
    mug = make_product(name="Blue Mug", stock=9)
    c = Client()
    r = _add(c, mug, 2)
    cookie = r.cookies[sessions.CHANGED_COOKIE]
    assert abs(int(cookie.value) / 1000 - time.time()) < 5
    assert cookie["httponly"] and int(cookie["max-age"]) == 62  # 60 s of keeping + the clocks' margin

    with CaptureQueriesContext(connection) as q:  # right after the change: read from the database
        assert _count(c.get("/cart/").content.decode()) == 2
    assert _session_reads(q.captured_queries) == 1

    _quiet(c)
    c.get("/")  # read once more, now kept
    with CaptureQueriesContext(connection) as q:
        for path in ("/cart/", "/", f"/p/{mug.slug}/"):
            html = c.get(path).content.decode()
            assert _count(html) == 2, path
    assert _session_reads(q.captured_queries) == 0
    assert "Blue Mug" in c.get("/cart/").content.decode()


def test_the_visitors_own_change_made_in_another_process_shows_at_once(make_product):
    """The other process's change is made behind this process's back (SQL, no signal); its response's cookie is
    what tells this process that its kept session is older."""
    mug = make_product(name="Blue Mug", stock=9)
    c = Client()
    _add(c, mug, 1)
    _quiet(c)
    assert _count(c.get("/cart/").content.decode()) == 1  # kept now
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {CartLine._meta.db_table} SET quantity = 3")
    assert _count(c.get("/cart/").content.decode()) == 1  # kept (the other process's answer has not come back)
    c.cookies[sessions.CHANGED_COOKIE] = str(int(time.time() * 1000))  # ... now it has
    assert _count(c.get("/cart/").content.decode()) == 3


def test_a_change_made_elsewhere_shows_within_the_configured_seconds(make_product, settings):
    settings.SHOP_SESSION_CACHE_SECONDS = 0.5
    mug = make_product(name="Blue Mug", stock=9)
    c = Client()
    _add(c, mug, 1)
    _quiet(c)
    assert _count(c.get("/cart/").content.decode()) == 1
    with connection.cursor() as cur:  # an admin in another process, say
        cur.execute(f"UPDATE {CartLine._meta.db_table} SET quantity = 4")
    time.sleep(0.6)
    assert _count(c.get("/cart/").content.decode()) == 4


def test_changes_made_in_this_process_by_anything_show_at_once(make_product):
    mug, lamp = make_product(name="Blue Mug", stock=9), make_product(name="Desk Lamp", stock=9)
    c = Client()
    _add(c, mug, 1)
    _quiet(c)
    assert _count(c.get("/cart/").content.decode()) == 1
    cart = Cart.objects.get()
    CartLine.objects.create(cart=cart, product=lamp, quantity=2)  # a script, the admin: no cookie involved
    assert _count(c.get("/cart/").content.decode()) == 3
    from shop import cart as carts

    carts.set_quantity(cart, lamp, 5)  # a queryset update, which sends no signal
    assert _count(c.get("/cart/").content.decode()) == 6
    CartLine.objects.filter(product=lamp).delete()
    assert _count(c.get("/cart/").content.decode()) == 1
    cart.delete()
    assert _count(c.get("/cart/").content.decode()) == 0


def test_a_session_deleted_in_this_process_is_not_served_from_what_was_kept(make_product):
    c = Client()
    _add(c, make_product(stock=9), 2)
    _quiet(c)
    assert _count(c.get("/cart/").content.decode()) == 2  # kept
    Session.objects.filter(session_key=c.cookies["sessionid"].value).delete()  # the admin, clearsessions
    assert _count(c.get("/cart/").content.decode()) == 0


def test_a_get_that_changes_the_session_answers_with_the_cookie_and_one_that_reads_does_not():
    from django.http import HttpResponse
    from django.test import RequestFactory

    def view(change):
        def get_response(request):
            if change:
                request.session["recently_seen"] = [12]  # e.g. messages kept in the session, consumed by a GET
            else:
                request.session.get("recently_seen")
            return HttpResponse("ok")
        return get_response

    store = sessions.SessionStore()
    store["cart_id"] = 1
    store.save()
    for change, expected in ((True, True), (False, False)):
        request = RequestFactory().get("/", HTTP_COOKIE=f"sessionid={store.session_key}")
        response = sessions.SessionMiddleware(view(change))(request)
        assert (sessions.CHANGED_COOKIE in response.cookies) is expected


def test_a_signed_in_shoppers_session_is_read_every_time(make_product, user):
    c = Client()
    c.force_login(user)
    _add(c, make_product(stock=9), 2)
    _quiet(c)
    with CaptureQueriesContext(connection) as q:
        for _ in range(3):
            assert _count(c.get("/cart/").content.decode()) == 2
    assert _session_reads(q.captured_queries) == 3


def test_logging_out_elsewhere_ends_the_session_at_once(user):
    c = Client()
    c.force_login(user)
    _quiet(c)
    assert "Log out" in c.get("/").content.decode()
    with connection.cursor() as cur:  # another process ends it (a logout on another device, the admin)
        cur.execute(f"DELETE FROM {Session._meta.db_table} WHERE session_key = %s", [c.session.session_key])
    assert "Log out" not in c.get("/").content.decode()


def test_with_the_cache_off_every_page_reads_and_no_cookie_is_set(make_product, settings):
    settings.SHOP_SESSION_CACHE_SECONDS = 0
    c = Client()
    r = _add(c, make_product(stock=9), 1)
    assert sessions.CHANGED_COOKIE not in r.cookies
    _quiet(c)
    with CaptureQueriesContext(connection) as q:
        c.get("/cart/")
        c.get("/cart/")
    assert _session_reads(q.captured_queries) == 2


@pytest.mark.parametrize("value", ["", "soon", "-5", "9" * 40, "1.5e12"])
def test_a_malformed_cookie_means_read_the_database(make_product, value):
    c = Client()
    _add(c, make_product(stock=9), 1)
    _quiet(c)
    c.get("/cart/")  # kept
    c.cookies[sessions.CHANGED_COOKIE] = value
    with CaptureQueriesContext(connection) as q:
        r = c.get("/cart/")
    assert r.status_code == 200 and _count(r.content.decode()) == 1
    assert _session_reads(q.captured_queries) == 1


def test_a_session_without_a_change_cookie_is_kept_after_one_read(make_product):
    c = Client()
    _add(c, make_product(stock=9), 1)
    del c.cookies[sessions.CHANGED_COOKIE]  # expired in the browser (it lives 62 s)
    with CaptureQueriesContext(connection) as q:
        for _ in range(3):
            assert _count(c.get("/cart/").content.decode()) == 1
    assert _session_reads(q.captured_queries) == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_show_a_shoppers_change_on_every_next_page(make_product, proc_cleanup):
    """Both workers keep the visitor's session; the visitor adds to the cart through one of them; every next page,
    whichever worker serves it, shows the new count (sync workers take each connection in turn)."""
    mug, lamp = make_product(name="Blue Mug", stock=20), make_product(name="Desk Lamp", stock=20)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
                             "--timeout", "30"], cwd=ROOT, env={**db_env(), "DATABASE_CONN_MAX_AGE": "600"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc_cleanup.append(proc)
    wait_for_port(port, proc)
    base = f"http://127.0.0.1:{port}"
    s = requests.Session()

    def token(path):
        r = s.get(base + path, timeout=15)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text).group(1)

    def add(product, quantity):
        r = s.post(base + f"/cart/add/{product.pk}/", {"quantity": str(quantity), "csrfmiddlewaretoken":
                                                        token(f"/p/{product.slug}/")}, timeout=15,
                   allow_redirects=False)
        assert r.status_code == 302 and sessions.CHANGED_COOKIE in r.cookies

    def counts(n=30):
        return {_count(s.get(base + "/cart/", timeout=15).text) for _ in range(n)}

    add(mug, 1)
    time.sleep(sessions.CLOCK_MARGIN + 0.2)
    assert counts() == {1}  # read and kept by the workers
    with connection.cursor() as cur:  # behind both workers' backs: proves they serve what they kept
        cur.execute(f"UPDATE {CartLine._meta.db_table} SET quantity = 2")
    assert 1 in counts()  # at least one worker serves the count it kept (the others read 2 now)
    add(lamp, 3)
    assert counts() == {5}  # 2 mugs + 3 lamps, from every worker, at once
    time.sleep(sessions.CLOCK_MARGIN + 0.2)
    assert counts() == {5}
