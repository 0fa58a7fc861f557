"""Category pages as a shopper uses them: filters with counts, shareable URLs, breadcrumbs, sold-out last."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import images
from shop.models import Category, Product, Promotion
from tests.conftest import png_bytes


@pytest.fixture
def tree(db):
    top = Category.objects.create(name="Apparel", slug="apparel")
    mid = Category.objects.create(name="Tops", slug="tops", parent=top)
    leaf = Category.objects.create(name="T-Shirts", slug="t-shirts", parent=mid)
    return top, mid, leaf


@pytest.fixture
def tees(tree, make_product):
    leaf = tree[2]
    spec = [("Blue S-M", "blue", "S,M", "10.00", 5), ("Blue L", "blue", "L", "30.00", 0),
            ("Red M", "red", "M,L", "20.00", 3), ("Black XS", "black", "XS", "40.00", 2)]
    return {name: make_product(name=name, category=leaf, price=price, stock=stock,
                               attributes={"colour": colour, "sizes": sizes})
            for name, colour, sizes, price, stock in spec}


def _names(response):
    return [p.name for p in response.context["page"]]


def test_products_of_every_level_below_are_listed(client, tees):
    assert len(_names(client.get("/c/apparel/"))) == 4  # two levels down


def test_colour_filter_with_counts_per_value(client, tees):
    r = client.get("/c/apparel/?colour=blue")
    assert sorted(_names(r)) == ["Blue L", "Blue S-M"]
    counts = {f.value: (f.count, f.selected) for f in r.context["facets"].colours}
    # counts ignore the colour filter itself, so other colours can be added
    assert counts == {"black": (1, False), "blue": (2, True), "red": (1, False)}
    r = client.get("/c/apparel/?colour=blue&colour=red")
    assert sorted(_names(r)) == ["Blue L", "Blue S-M", "Red M"]


def test_size_stock_and_price_filters_combine(client, tees):
    assert sorted(_names(client.get("/c/apparel/?size=M"))) == ["Blue S-M", "Red M"]
    r = client.get("/c/apparel/?size=M&stock=1&max=15")
    assert _names(r) == ["Blue S-M"]
    sizes = {f.value: f.count for f in r.context["facets"].sizes}
    assert sizes == {"S": 1, "M": 1}  # only in-stock products up to 15.00, whatever their size
    assert [f.value for f in client.get("/c/apparel/").context["facets"].sizes] == ["XS", "S", "M", "L"]
    assert client.get("/c/apparel/?colour=blue").context["facets"].in_stock == 1


def test_price_filter_and_sort_use_todays_promotion_price(client, tees):
    today = timezone.localdate()
    Promotion.objects.create(product=tees["Black XS"], starts_on=today - timedelta(days=1),
                             ends_on=today + timedelta(days=1), discount_percent=80)  # 40.00 -> 8.00
    assert "Black XS" in _names(client.get("/c/apparel/?max=9"))
    assert _names(client.get("/c/apparel/?sort=price"))[0] == "Black XS"


def test_out_of_stock_products_sink_in_popular_newest_and_price_lists(client, tees):
    Product.objects.filter(name="Blue L").update(popularity=999)
    for sort in ("popular", "newest", "-price"):
        assert _names(client.get(f"/c/apparel/?sort={sort}"))[-1] == "Blue L", sort
    assert [p.name for p in client.get("/").context["featured"]][-1] == "Blue L"
    assert [p.name for p in client.get("/").context["newest"]][-1] == "Blue L"


def test_filter_urls_are_shareable_and_survive_paging(client, tees, settings):
    settings.SHOP_PAGE_SIZE = 1
    body = client.get("/c/apparel/?colour=blue&colour=red&sort=price").content.decode()
    assert "Page 1 of 3" in body
    assert 'href="?colour=blue&amp;colour=red&amp;sort=price&amp;page=2"' in body
    page2 = client.get("/c/apparel/?colour=blue&colour=red&sort=price&page=2")
    assert _names(page2) == ["Red M"]
    assert 'name="colour" value="blue"' in page2.content.decode()  # the sort form keeps the filters


@pytest.mark.parametrize("query", ["min=abc&max=-3", "min=50&max=10", "stock=maybe", "colour=" + "x" * 500,
                                   "min=1e999", "max=NaN", "page=999", "sort=drop"])
def test_nonsense_filter_values_are_ignored_not_errors(client, tees, query):
    assert client.get(f"/c/apparel/?{query}").status_code == 200


def test_no_match_says_so_and_offers_to_clear(client, tees):
    body = client.get("/c/apparel/?colour=green").content.decode()
    assert "No products match these filters." in body and 'id="clear-filters"' in body


def test_breadcrumbs_show_the_full_path(client, tees, tree):
    body = client.get("/c/t-shirts/").content.decode()
    crumbs = body[body.index('id="breadcrumbs"'):body.index("</ol>", body.index('id="breadcrumbs"'))]
    assert crumbs.index("Apparel") < crumbs.index("Tops") < crumbs.index("T-Shirts")
    body = client.get(tees["Red M"].get_absolute_url()).content.decode()
    crumbs = body[body.index('id="breadcrumbs"'):body.index("</ol>", body.index('id="breadcrumbs"'))]
    assert crumbs.index("Apparel") < crumbs.index("Tops") < crumbs.index("T-Shirts") < crumbs.index("Red M")


def _queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("query", ["", "?colour=blue&size=M&stock=1&min=1&max=100&sort=price"])
def test_filtered_list_query_count_is_constant_in_page_size(client, tree, make_product, settings, query):
    settings.SHOP_PAGE_SIZE = 60
    colours = ["blue", "red"]

    def add(n):
        for i in range(n):
            p = make_product(category=tree[2], price="20.00", stock=3,
                             attributes={"colour": colours[i % 2], "sizes": "S,M,L"})
            images.add_product_image(p, png_bytes(), "p.png")
            Promotion.objects.create(product=p, starts_on=timezone.localdate(), ends_on=timezone.localdate(),
                                     discount_percent=10)

    add(4)
    few = _queries(client, "/c/apparel/" + query)
    add(20)
    assert _queries(client, "/c/apparel/" + query) == few
