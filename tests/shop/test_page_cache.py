"""The page cache (shop/pagecache.py, shop/versions.py) with caching ON: a kept page is really served (no query),
every visitor still gets their own parts, and every change a shopper must see shows at once: a price, a stock
change to 0 (by a manager and by a sale), a new promotion, a product taken off sale, a category renamed, the next
day's promotions. Changes are made the way the shop makes them (admin saves, shop.stock, checkout)."""
from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import pagecache, stock, versions
from shop.models import Category, Event, Product, ProductVariant, Promotion
from tests.conftest import ROOT, db_env, free_port, wait_for_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_cache(settings):
    settings.SHOP_PAGE_CACHE = True
    settings.SHOP_CACHE_FRESHNESS_SECONDS = 3600  # this process sees its own changes at once whatever this says
    return settings


@pytest.fixture
def shop(make_product, db):
    top = Category.objects.create(name="Kitchen", slug="kitchen")
    mugs = Category.objects.create(name="Mugs", slug="mugs", parent=top)
    lamp = make_product(name="Brass Lamp", price="40.00", stock=10, category=top, popularity=5)
    mug = make_product(name="Blue Mug", price="12.00", stock=10, category=mugs, popularity=50)
    return {"lamp": lamp, "mug": mug, "top": top, "mugs": mugs}


def pages(p: Product) -> dict[str, str]:
    """The pages a product shows on."""
    return {"home": "/", "category": "/c/kitchen/", "leaf": f"/c/{p.category.slug}/", "search": "/search/?q=mug",
            "product": p.get_absolute_url()}


def get(client, url) -> str:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r.content.decode()


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        get(client, url)
    return len(ctx)


def card(html: str, name: str) -> str:
    """The product card (or the product page's price block) of `name`."""
    i = html.index(name, html.index("<main"))
    return html[i:i + 600]


def test_a_kept_page_is_served_without_a_query_and_the_cache_is_really_on(client, page_cache, shop):
    page_cache.RECOMMENDER_READ_CACHE_SECONDS = 3600  # the live recommendations looked up once, not per request
    page_cache.SHOP_EVENT_LOG = "buffer"  # events go to Redis, as in production (not an INSERT per request)
    for url in pages(shop["mug"]).values():
        first = queries(client, url)
        assert first > 0
        assert queries(client, url) == 0, url  # kept: no query at all for a first-time visitor
    assert pagecache.stats()["pages"] >= 5
    from shop import events

    events.redis_client().delete(events.BUFFER_KEY)


def test_each_response_says_whether_it_came_from_the_cache(client, settings, page_cache, shop):
    url = shop["mug"].get_absolute_url()
    assert [client.get(url)["X-Page-Cache"] for _ in range(2)] == ["miss", "hit"]
    shop["mug"].price = Decimal("9.50")
    shop["mug"].save()
    assert client.get(url)["X-Page-Cache"] == "miss"  # changed: rendered again
    settings.SHOP_PAGE_CACHE = False
    assert [client.get(url)["X-Page-Cache"] for _ in range(2)] == ["off", "off"]


def test_a_price_change_shows_at_once_on_every_page(client, page_cache, shop):
    mug = shop["mug"]
    for url in pages(mug).values():
        assert "12.00 EUR" in card(get(client, url), "Blue Mug")
    mug.price = Decimal("9.50")
    mug.save()  # as the admin does
    for url in pages(mug).values():
        html = card(get(client, url), "Blue Mug")
        assert "9.50 EUR" in html and "12.00 EUR" not in html, url


def test_stock_to_zero_by_a_manager_shows_at_once(client, page_cache, shop):
    mug = shop["mug"]
    for url in pages(mug).values():
        get(client, url)
    stock.set_stock(mug, 0)  # the admin's stock column goes through shop.stock
    assert "Out of stock" in get(client, mug.get_absolute_url())
    for name in ("home", "category", "leaf", "search"):
        assert "Out of stock" in card(get(client, pages(mug)[name]), "Blue Mug"), name


def test_the_last_unit_sold_shows_out_of_stock_at_once(client, page_cache, shop, buy):
    mug = shop["mug"]
    stock.set_stock(mug, 1)
    for url in pages(mug).values():
        get(client, url)
    assert "only 1 left" in get(client, mug.get_absolute_url())
    buy({mug: 1})  # a checkout takes the last unit
    assert "Out of stock" in get(client, mug.get_absolute_url())
    assert "Out of stock" in card(get(client, "/c/mugs/"), "Blue Mug")


def test_a_stock_count_change_refreshes_the_product_page_and_keeps_the_lists(client, page_cache, shop):
    mug = shop["mug"]
    get(client, "/c/kitchen/")
    get(client, mug.get_absolute_url())
    stock.set_stock(mug, 3)
    assert "only 3 left" in get(client, mug.get_absolute_url())  # the count shows at once
    stock.set_stock(mug, 2)
    assert "only 2 left" in get(client, mug.get_absolute_url())


def test_a_sale_that_leaves_stock_keeps_the_lists_kept(client, page_cache, shop, buy):
    mug = shop["mug"]
    get(client, "/c/kitchen/")
    buy({mug: 2})  # 10 -> 8: lists show nothing of the count
    assert queries(client, "/c/kitchen/") == 0
    assert "only" not in get(client, mug.get_absolute_url())


def test_a_new_promotion_shows_at_once(client, page_cache, shop):
    mug = shop["mug"]
    for url in pages(mug).values():
        get(client, url)
    today = timezone.localdate()
    Promotion.objects.create(product=mug, starts_on=today, ends_on=today + timedelta(days=3), discount_percent=25)
    for url in pages(mug).values():
        html = card(get(client, url), "Blue Mug")
        assert "9.00 EUR" in html and "-25%" in html, url


def test_tomorrows_promotion_shows_tomorrow_without_any_write(client, page_cache, shop, monkeypatch):
    mug = shop["mug"]
    tomorrow = timezone.localdate() + timedelta(days=1)
    Promotion.objects.create(product=mug, starts_on=tomorrow, ends_on=tomorrow, discount_percent=50)
    for url in pages(mug).values():
        assert "-50%" not in get(client, url)
    later = timezone.now() + timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    for url in pages(mug).values():
        assert "-50%" in card(get(client, url), "Blue Mug"), url


def test_a_product_taken_off_sale_disappears_at_once(client, page_cache, shop):
    mug = shop["mug"]
    for url in pages(mug).values():
        assert "Blue Mug" in get(client, url)
    mug.is_active = False
    mug.save()
    assert client.get(mug.get_absolute_url()).status_code == 404
    for name in ("home", "category", "leaf", "search"):
        assert "Blue Mug" not in get(client, pages(mug)[name]), name


def test_a_size_selling_out_shows_on_the_product_page_and_in_size_filters(client, page_cache, shop):
    mug = shop["mug"]
    m = ProductVariant.objects.create(product=mug, sku="MUG-M", size="M", stock=2)
    ProductVariant.objects.create(product=mug, sku="MUG-L", size="L", stock=2)
    stock.sync_product_stock(mug)
    filtered = "/c/mugs/?size=M&stock=1"
    assert "Blue Mug" in get(client, filtered)
    assert "Struck-through" not in get(client, mug.get_absolute_url())
    stock.set_variant_stock(m, 0)
    assert "Struck-through sizes are sold out" in get(client, mug.get_absolute_url())
    assert "Blue Mug" not in get(client, filtered)


def test_a_renamed_category_shows_everywhere_at_once(client, page_cache, shop):
    for url in pages(shop["lamp"]).values():
        get(client, url)
    shop["top"].name = "Home & Kitchen"
    shop["top"].save()
    for url in pages(shop["lamp"]).values():
        assert "Home &amp; Kitchen" in get(client, url), url


def test_every_visitor_gets_their_own_parts_of_a_kept_page(client, page_cache, shop, user):
    mug = shop["mug"]
    url = mug.get_absolute_url()
    first = get(client, url)
    assert 'id="cart-count">0<' in first and "Log in" in first
    shopper = Client()
    shopper.post(f"/cart/add/{mug.pk}/", {"quantity": 2})  # a message and a cart of 2
    shopper.force_login(user)
    other = get(shopper, "/cart/")
    assert "Added 2 x Blue Mug" in other
    mine = get(shopper, url)
    assert 'id="cart-count">2<' in mine and "alice" in mine and "Log in" not in mine
    assert "Added 2 x Blue Mug" not in mine  # a message is shown once
    again = get(client, url)
    assert 'id="cart-count">0<' in again and "alice" not in again and "Log in" in again

    def tokens(html):
        return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))

    assert tokens(first) and tokens(first) != tokens(again)  # a token per request, never the kept page's
    assert "shop-hole" not in first + mine + again


def test_product_views_and_searches_are_logged_on_every_request(client, page_cache, shop):
    mug = shop["mug"]
    for _ in range(3):
        get(client, mug.get_absolute_url() + "?src=list")
        get(client, "/search/?q=mug")
    assert Event.objects.filter(kind="view", product=mug, source="list").count() == 3
    assert list(Event.objects.filter(kind="search").values_list("query", "quantity")) == [("mug", 1)] * 3


def test_the_hidden_source_field_is_the_checked_one(client, page_cache, shop):
    mug = shop["mug"]
    assert 'name="source" value="list"' in get(client, mug.get_absolute_url() + "?src=list")
    assert 'name="source" value="direct"' in get(client, mug.get_absolute_url() + "?src=<b>")


def test_pages_stay_within_their_memory_budget(client, page_cache, shop, make_product, settings):
    settings.SHOP_PAGE_CACHE_MB = 0  # nothing fits: rendered every time, still correct
    assert "Blue Mug" in get(client, "/c/kitchen/")
    assert pagecache.stats()["pages"] == 0
    assert queries(client, "/c/kitchen/") > 0


def test_pages_are_served_with_redis_refused(client, page_cache, shop, settings, refused_redis):
    from shop import resilience

    settings.REDIS_URL = refused_redis
    settings.SHOP_EVENT_LOG = "buffer"
    settings.CACHES = {"default": {"BACKEND": "shop.resilience.ResilientRedisCache", "LOCATION": refused_redis,
                                   "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}}}
    resilience.reset_client()
    mug = shop["mug"]
    for url in [*pages(mug).values(), "/cart/"] * 2:
        get(client, url)
    assert Event.objects.filter(kind="view", product=mug).count() == 2  # straight to the database


@pytest.mark.django_db(transaction=True)
def test_a_change_shows_in_another_process_on_its_next_request(make_product, proc_cleanup):
    """gunicorn workers keep pages too; a price saved in this process is committed, its counter bumped after the
    commit, and with SHOP_CACHE_FRESHNESS_SECONDS=0 every worker looks on each request."""
    mug = make_product(name="Gunicorn Mug", price="12.00", stock=5)
    port = free_port()
    env = {**db_env(), "SHOP_PAGE_CACHE": "true", "SHOP_CACHE_FRESHNESS_SECONDS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc_cleanup.append(proc)
    wait_for_port(port, proc)
    url = f"http://127.0.0.1:{port}{mug.get_absolute_url()}"

    def fetch():
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.read().decode()

    for _ in range(6):  # both workers render and keep it
        assert "12.00 EUR" in fetch()
    mug.price = Decimal("7.00")
    mug.save()
    time.sleep(0.05)
    for _ in range(6):
        assert "7.00 EUR" in fetch()
    assert versions.current().get(versions.product_key(mug.pk), 0) > 0  # the row was bumped after the commit


def test_today_follows_the_local_day_across_midnight_and_a_clock_set_back(monkeypatch, settings):
    """versions.today() keeps the local date between midnights; it must still turn at midnight (shop time zone,
    not UTC) and follow a clock that goes back."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    settings.TIME_ZONE = "Pacific/Auckland"  # far from UTC: the local day turns at 11:00 UTC in December
    zone = ZoneInfo("Pacific/Auckland")
    clock = {"now": datetime(2026, 12, 6, 23, 59, 59, tzinfo=zone)}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    monkeypatch.setattr(versions, "_day", (None, None, None))
    seen = []
    for moment in [(2026, 12, 6, 23, 59, 59), (2026, 12, 7, 0, 0, 0), (2026, 12, 7, 12, 0), (2026, 12, 6, 22, 0),
                   (2026, 12, 8, 0, 30)]:
        clock["now"] = datetime(*moment, tzinfo=zone)
        seen.append(versions.today())
        assert seen[-1] == timezone.localdate(), moment
    assert [d.day for d in seen] == [6, 7, 7, 6, 8]


def test_a_kept_pages_token_is_one_djangos_csrf_check_takes(page_cache, shop):
    """shop.pagecache.csrf_token masks the visitor's secret itself (one random draw per token): each token must
    unmask to the cookie's secret, differ from the last, and pass Django's middleware on a real form POST."""
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token

    mug = shop["mug"]
    browser = Client(enforce_csrf_checks=True)
    first = get(browser, mug.get_absolute_url())  # a first-time visitor: a new secret, sent as the cookie
    secret = browser.cookies["csrftoken"].value
    assert len(secret) == 32 and set(secret) <= set(CSRF_ALLOWED_CHARS)
    assert _unmask_cipher_token(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', first).group(1)) == secret
    assert Client().get(mug.get_absolute_url()).cookies["csrftoken"].value != secret  # a secret per visitor
    seen = set()
    for _ in range(20):
        html = get(browser, mug.get_absolute_url())
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        assert len(token) == 64 and set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret
        seen.add(token)
    assert len(seen) == 20
    assert browser.cookies["csrftoken"].value == secret  # renewed with the same secret, as Django does
    r = browser.post(f"/cart/add/{mug.pk}/", {"quantity": 1, "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and 'id="cart-count">1<' in get(browser, "/cart/")
    assert browser.post(f"/cart/add/{mug.pk}/", {"quantity": 1, "csrfmiddlewaretoken": "x" * 64}).status_code == 403


@pytest.mark.parametrize("bad", ["short", "é" * 32, "-" * 32, "a" * 31 + " ", "A" * 64])
def test_a_malformed_csrf_cookie_gets_a_new_secret_and_a_token_for_it(page_cache, shop, bad):
    """A cookie that is not a secret (wrong length, characters outside Django's set, a 64-character token) is
    replaced, as Django's get_token does: the page's token unmasks to the new secret and a POST with it passes."""
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token

    mug = shop["mug"]
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["csrftoken"] = bad
    html = get(browser, mug.get_absolute_url())
    secret = browser.cookies["csrftoken"].value
    assert secret != bad and len(secret) == 32 and set(secret) <= set(CSRF_ALLOWED_CHARS)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert _unmask_cipher_token(token) == secret
    assert browser.post(f"/cart/add/{mug.pk}/", {"quantity": 1, "csrfmiddlewaretoken": token}).status_code == 302


def test_csrf_secrets_and_masks_use_every_character_evenly():
    """The secrets and masks are drawn from the system's CSPRNG with no character favoured (a biased draw would
    weaken the token): 5,000 tokens hold each of the 62 characters within 10 % of its expected share (5 standard
    deviations; a byte-modulo draw without rejection would put 8 characters 20 % above it)."""
    from collections import Counter

    from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token

    secret = pagecache._new_secret()
    tokens = [pagecache._mask_secret(secret) for _ in range(5000)]
    assert all(_unmask_cipher_token(t) == secret for t in tokens)
    masks = Counter("".join(t[:32] for t in tokens))
    secrets_ = Counter("".join(pagecache._new_secret() for _ in range(5000)))
    for counts in (masks, secrets_):
        assert set(counts) == set(CSRF_ALLOWED_CHARS)
        expected = 5000 * 32 / 62  # ~2581, standard deviation ~50
        assert all(0.9 * expected < n < 1.1 * expected for n in counts.values()), counts
