"""Pages shared between web processes through Redis (shop/pagecache.py, SHOP_PAGE_CACHE_SHARED_SECONDS): a page
one process rendered is served by another without rendering it again, and never once anything it shows changed.

"Another process" is this one with its own pages forgotten (pagecache.clear_local), and gunicorn's two workers at
the end. The writes commit (transactional tests), as in production: pages rendered under a process's own
uncommitted counters are never shared."""
from __future__ import annotations

import subprocess
import sys
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import pagecache, resilience, stock
from shop.models import Category, Product, Promotion
from tests.conftest import ROOT, db_env, free_port, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shared(settings):
    settings.SHOP_PAGE_CACHE = True
    settings.SHOP_CACHE_FRESHNESS_SECONDS = 0  # look at the counters on every request, as another process would
    settings.SHOP_PAGE_CACHE_SHARED_SECONDS = 600
    assert settings.REDIS_URL, "the test command points REDIS_URL at the test Redis"
    resilience.reset_client()
    resilience.recovered()
    return settings


@pytest.fixture
def shop(make_product):
    top = Category.objects.create(name="Kitchen", slug="kitchen")
    mug = make_product(name="Blue Mug", price="12.00", stock=10, category=top, popularity=50)
    return {"top": top, "mug": mug}


def kept_in_redis() -> list[bytes]:
    return list(resilience.client().scan_iter("shop:page:*"))


def other_process() -> None:
    """What a second web process has: none of this one's pages."""
    pagecache.clear_local()


def get(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r


def test_a_page_rendered_in_one_process_is_served_in_another_without_rendering(client, shared, shop):
    url = shop["mug"].get_absolute_url()
    first = get(client, url)
    assert first["X-Page-Cache"] == "miss" and len(kept_in_redis()) == 1
    other_process()
    with CaptureQueriesContext(connection) as ctx:
        second = get(client, url)
    assert second["X-Page-Cache"] == "shared"
    # no query for the product, its photos or promotions: only the counters' look and the view event
    assert not [q for q in ctx.captured_queries if "shop_product" in q["sql"] and "SELECT" in q["sql"]]
    assert "Blue Mug" in second.content.decode() and "12.00 EUR" in second.content.decode()
    assert get(client, url)["X-Page-Cache"] == "hit"  # and now kept in this process too
    for path in ("/", "/c/kitchen/", "/search/?q=mug"):
        assert get(client, path)["X-Page-Cache"] == "miss"
        other_process()
        assert get(client, path)["X-Page-Cache"] == "shared", path


def test_each_visitor_still_gets_their_own_parts_of_a_shared_page(client, shared, shop, user):
    url = shop["mug"].get_absolute_url()
    get(client, url)
    other_process()
    client.force_login(user)
    html = get(client, url).content.decode()
    assert user.get_username() in html and "Log out" in html
    token = client.cookies["csrftoken"].value
    assert token and 'name="csrfmiddlewaretoken"' in html


@pytest.mark.parametrize("change", ["price", "stock to 0", "promotion", "off sale", "category renamed"])
def test_a_change_is_never_served_from_redis(client, shared, shop, change):
    mug, top = shop["mug"], shop["top"]
    paths = ["/", "/c/kitchen/", "/search/?q=mug", mug.get_absolute_url()]
    for path in paths:
        get(client, path)
    if change == "price":
        mug.price = Decimal("9.50")
        mug.save()
    elif change == "stock to 0":
        stock.set_stock(mug, 0)  # the admin's stock column
    elif change == "promotion":
        today = timezone.localdate()
        Promotion.objects.create(product=mug, starts_on=today, ends_on=today + timedelta(days=3), discount_percent=50)
    elif change == "off sale":
        mug.is_active = False
        mug.save()
    else:
        top.name = "Kitchenware"
        top.save()
    other_process()
    for path in paths:
        r = client.get(path)
        html = r.content.decode()
        assert r.get("X-Page-Cache") in (None, "miss"), (change, path)  # None: the 404 of a product off sale
        if change == "price":
            assert "9.50 EUR" in html and "12.00 EUR" not in html, path
        elif change == "stock to 0":
            assert "Out of stock" in html, path
        elif change == "promotion":
            assert "6.00 EUR" in html, path
        elif change == "off sale":
            assert r.status_code == 404 if path == mug.get_absolute_url() else "Blue Mug" not in html, path
        else:
            assert "Kitchenware" in html, path


def test_pages_rendered_under_uncommitted_changes_are_not_shared(client, shared, shop):
    mug = shop["mug"]
    with transaction.atomic():
        mug.price = Decimal("8.00")
        mug.save()  # this process's own counter until the commit
        assert "8.00 EUR" in get(client, mug.get_absolute_url()).content.decode()
        assert kept_in_redis() == []
        transaction.set_rollback(True)
    other_process()
    r = get(client, mug.get_absolute_url())
    assert "12.00 EUR" in r.content.decode() and "8.00 EUR" not in r.content.decode()


def test_an_unreadable_entry_is_rendered_again(client, shared, shop):
    url = shop["mug"].get_absolute_url()
    get(client, url)
    (key,) = kept_in_redis()
    resilience.client().set(key, b"not a page")
    other_process()
    r = get(client, url)
    assert r["X-Page-Cache"] == "miss" and "Blue Mug" in r.content.decode()
    other_process()
    assert get(client, url)["X-Page-Cache"] == "shared"  # the rendered page replaced it


def test_off_with_zero_seconds(client, shared, shop):
    shared.SHOP_PAGE_CACHE_SHARED_SECONDS = 0
    url = shop["mug"].get_absolute_url()
    get(client, url)
    other_process()
    assert get(client, url)["X-Page-Cache"] == "miss" and kept_in_redis() == []


def test_entries_expire(client, shared, shop):
    url = shop["mug"].get_absolute_url()
    get(client, url)
    (key,) = kept_in_redis()
    assert 590 <= resilience.client().ttl(key) <= 600


def test_pages_are_served_with_redis_refused(client, shared, shop, refused_redis):
    shared.REDIS_URL = refused_redis
    resilience.reset_client()
    url = shop["mug"].get_absolute_url()
    for _ in range(3):
        other_process()
        r = get(client, url)
        assert r["X-Page-Cache"] == "miss" and "Blue Mug" in r.content.decode()


def test_another_release_does_not_share(client, shared, shop, monkeypatch):
    url = shop["mug"].get_absolute_url()
    get(client, url)
    other_process()
    monkeypatch.setattr(pagecache, "build_id", lambda: "another-release")
    assert get(client, url)["X-Page-Cache"] == "miss"


def test_the_build_id_follows_templates_and_settings(settings, tmp_path):
    template_dir = tmp_path / "templates"
    template_dir.mkdir()
    (template_dir / "x.html").write_text("one")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [template_dir]}]
    ids = []
    for change in (None, "template", "setting", None):
        if change == "template":
            (template_dir / "x.html").write_text("two")
        elif change == "setting":
            settings.SHOP_CURRENCY = "USD"
        pagecache.build_id.cache_clear()
        ids.append(pagecache.build_id())
    pagecache.build_id.cache_clear()
    assert len(set(ids[:3])) == 3 and ids[3] == ids[2]


def test_two_gunicorn_workers_render_a_page_once(shop, proc_cleanup):
    """Each worker keeps its own pages; the second takes the first one's from Redis instead of rendering it."""
    port = free_port()
    env = {**db_env(), "SHOP_PAGE_CACHE": "true", "SHOP_CACHE_FRESHNESS_SECONDS": "0",
           "SHOP_PAGE_CACHE_SHARED_SECONDS": "600"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc_cleanup.append(proc)
    wait_for_port(port, proc)
    url = f"http://127.0.0.1:{port}{shop['mug'].get_absolute_url()}"
    seen = []
    for _ in range(300):  # until the second worker has served it (which worker takes a request is up to them)
        with urllib.request.urlopen(url, timeout=30) as r:
            seen.append(r.headers["X-Page-Cache"])
            assert "12.00 EUR" in r.read().decode()
        if "shared" in seen:
            break
    assert seen.count("miss") == 1 and seen[0] == "miss" and "shared" in seen, seen
    mug = Product.objects.get(pk=shop["mug"].pk)
    mug.price = Decimal("7.00")
    mug.save()
    for _ in range(10):
        with urllib.request.urlopen(url, timeout=30) as r:
            assert "7.00 EUR" in r.read().decode()
