"""Catalog pages: what a shopper sees, and query counts that do not grow with the number of products."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shop import images
from shop.models import Category, Event
from tests.conftest import png_bytes


@pytest.fixture
def tree(db):
    top = Category.objects.create(name="Apparel", slug="apparel")
    leaf = Category.objects.create(name="Tees", slug="tees", parent=top)
    return top, leaf


def _fill(make_product, cat, n, with_images=True):
    out = []
    for i in range(n):
        p = make_product(category=cat, price=f"{10 + i}.00", stock=5)
        if with_images:
            images.add_product_image(p, png_bytes((i * 20 % 255, 80, 120)), f"p{i}.png")
        out.append(p)
    return out


def _count(client, url):
    client.get(url)  # warm the per-process caches (the Site of the footer's pages)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_category_page_query_count_does_not_grow_with_products(client, make_product, tree, settings):
    settings.SHOP_PAGE_SIZE = 50
    top, leaf = tree
    _fill(make_product, leaf, 3)
    few = _count(client, reverse("shop:category", args=["apparel"]))
    _fill(make_product, leaf, 12)
    many = _count(client, reverse("shop:category", args=["apparel"]))
    assert many == few, f"{few} queries for 3 products, {many} for 15"


def test_product_page_query_count_does_not_grow_with_catalog(client, make_product, tree):
    top, leaf = tree
    first = _fill(make_product, leaf, 2)[0]
    few = _count(client, reverse("shop:product", args=[first.slug]))
    _fill(make_product, leaf, 10)
    many = _count(client, reverse("shop:product", args=[first.slug]))
    assert many == few


def test_search_and_home_query_counts_are_constant(client, make_product, tree):
    top, leaf = tree
    _fill(make_product, leaf, 2)
    a = (_count(client, "/"), _count(client, "/search/?q=product"))
    _fill(make_product, leaf, 8)
    assert (_count(client, "/"), _count(client, "/search/?q=product")) == a


def test_category_sorting_and_pagination(client, make_product, tree, settings):
    settings.SHOP_PAGE_SIZE = 4
    top, leaf = tree
    _fill(make_product, leaf, 6, with_images=False)
    body = client.get("/c/apparel/?sort=-price").content.decode()
    assert body.index("15.00") < body.index("12.00")  # most expensive first
    assert "Page 1 of 2" in body
    page2 = client.get("/c/apparel/?sort=-price&page=2").content.decode()
    assert "11.00" in page2 and "15.00" not in page2
    cheap = client.get("/c/tees/?sort=price").content.decode()
    assert cheap.index("10.00") < cheap.index("13.00")


def test_search_ranks_name_matches_first(client, make_product, tree):
    top, leaf = tree
    make_product(name="Plain Mug", description="A mug that says lamp on the side", category=leaf)
    make_product(name="Desk Lamp", description="A bright reading lamp", category=leaf)
    make_product(name="Sock", description="Nothing to see", category=leaf)
    body = client.get("/search/?q=lamp").content.decode()
    assert "Desk Lamp" in body and "Plain Mug" in body and "Sock" not in body
    assert body.index("Desk Lamp") < body.index("Plain Mug")
    assert Event.objects.filter(kind="search", query="lamp").exists()


def test_product_view_is_logged_with_its_source(client, make_product, tree):
    p = make_product(category=tree[1])
    client.get(f"/p/{p.slug}/?src=search")
    client.get(f"/p/{p.slug}/?src=<bogus>")
    assert list(Event.objects.filter(product=p, kind="view").order_by("id").values_list("source", flat=True)) == [
        "search", "direct"]


def test_user_input_is_escaped(client, make_product, tree):
    p = make_product(name="<script>alert(1)</script>", category=tree[1])
    body = client.get(f"/p/{p.slug}/").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    body = client.get("/search/?q=<img src=x onerror=alert(1)>").content.decode()
    assert "<img src=x" not in body


def test_out_of_stock_product_has_no_buy_button(client, make_product, tree):
    p = make_product(stock=0, category=tree[1])
    body = client.get(f"/p/{p.slug}/").content.decode()
    assert "Out of stock" in body and 'id="add-to-cart"' not in body


def test_health_endpoints(client, db):
    assert client.get("/healthz").content == b"ok"
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"ready": True, "problems": {}}


def test_readyz_reports_a_dead_redis(client, settings, db):
    from shop import events

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    events._redis = None
    try:
        r = client.get("/readyz")
    finally:
        events._redis = None
    assert r.status_code == 503 and "redis" in r.json()["problems"]


def test_image_upload_refuses_non_images_and_oversized(make_product, settings):
    from django.core.exceptions import ValidationError

    p = make_product()
    with pytest.raises(ValidationError, match="not an image"):
        images.add_product_image(p, b"%PDF-1.4 not a picture", "doc.png")
    settings.MAX_UPLOAD_IMAGE_BYTES = 1000
    with pytest.raises(ValidationError, match="limit"):
        images.add_product_image(p, png_bytes(size=(400, 400)) + b"\0" * 2000, "big.png")
    assert p.images.count() == 0
    settings.MAX_UPLOAD_IMAGE_BYTES = 5_000_000
    pi = images.add_product_image(p, png_bytes(size=(800, 600)), "ok.png")
    assert (pi.width, pi.height) == (800, 600) and pi.thumbnail.name.endswith(".jpg")


def test_search_follows_renames_and_finds_skus(client, make_product, tree):
    p = make_product(name="Blue Kettle", category=tree[1])
    assert "Blue Kettle" in client.get("/search/?q=kettle").content.decode()
    p.name = "Blue Teapot"
    p.save()
    assert "Nothing matched" in client.get("/search/?q=kettle").content.decode()
    assert "Blue Teapot" in client.get("/search/?q=teapots").content.decode()  # stemmed
    assert "Blue Teapot" in client.get(f"/search/?q={p.sku}").content.decode()
