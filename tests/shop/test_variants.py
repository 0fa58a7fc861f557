"""Sizes a shopper can choose: variants with their own SKU and stock, from the product page to the order line,
the stock locking, the imports, the API, the events and the ML data."""
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import analytics, checkout, imports, order_flow, stock
from shop.models import Cart, CartLine, Event, OrderLine, Product, ProductVariant, StockOut
from tests.conftest import ADDRESS


@pytest.fixture
def tee(make_product):
    p = make_product(name="Aurora Tee", price="20.00", stock=0, attributes={"colour": "blue", "sizes": "S,M,L"})
    for pos, (size, n) in enumerate([("S", 2), ("M", 1), ("L", 0)]):
        ProductVariant.objects.create(product=p, sku=f"{p.sku}-{size}", size=size, stock=n, position=pos)
    with transaction.atomic():
        stock.sync_product_stock(stock.lock_products([p.pk])[p.pk])
    p.refresh_from_db()
    return p


def _v(product, size):
    return ProductVariant.objects.get(product=product, size=size)


def test_product_page_offers_the_sizes_and_sold_out_ones_cannot_be_chosen(client, tee):
    body = client.get(tee.get_absolute_url() + "?size=M").content.decode()
    assert 'id="variant-picker"' in body
    m, l = _v(tee, "M"), _v(tee, "L")
    assert f'value="{m.pk}" id="variant-{m.pk}" autocomplete="off" required checked' in body  # ?size=M chosen
    assert f'value="{l.pk}" id="variant-{l.pk}" autocomplete="off" required disabled' in body
    assert tee.stock == 3


def test_adding_needs_a_size_and_keeps_sizes_on_their_own_lines(client, tee):
    r = client.post(f"/cart/add/{tee.pk}/", {"quantity": 1}, follow=True)
    assert "Choose a size" in r.content.decode() and not CartLine.objects.exists()
    s, m, l = _v(tee, "S"), _v(tee, "M"), _v(tee, "L")
    client.post(f"/cart/add/{tee.pk}/", {"quantity": 1, "variant": s.pk})
    client.post(f"/cart/add/{tee.pk}/", {"quantity": 1, "variant": m.pk})
    client.post(f"/cart/add/{tee.pk}/", {"quantity": 1, "variant": s.pk})
    assert sorted(CartLine.objects.values_list("variant__size", "quantity")) == [("M", 1), ("S", 2)]
    r = client.post(f"/cart/add/{tee.pk}/", {"quantity": 1, "variant": m.pk}, follow=True)
    assert "Only 1 of Aurora Tee (M) in stock" in r.content.decode()  # the size's stock, not the product's
    r = client.post(f"/cart/add/{tee.pk}/", {"quantity": 1, "variant": l.pk}, follow=True)
    assert "out of stock" in r.content.decode()
    body = client.get("/cart/").content.decode()
    assert "Size S" in body and "Size M" in body
    client.post(f"/cart/update/{tee.pk}/", {"quantity": 0, "variant": s.pk})  # remove one size only
    assert list(CartLine.objects.values_list("variant__size", flat=True)) == ["M"]
    events = list(Event.objects.filter(kind="cart_add").values_list("variant_id", flat=True))
    assert events == [s.pk, m.pk, s.pk]
    assert Event.objects.get(kind="cart_remove").variant_id == s.pk


def test_checkout_takes_the_sizes_stock_records_it_and_cancelling_gives_it_back(tee, buy, make_product):
    s, m = _v(tee, "S"), _v(tee, "M")
    cart = Cart.objects.create()
    CartLine.objects.create(cart=cart, product=tee, variant=s, quantity=2)
    CartLine.objects.create(cart=cart, product=tee, variant=m, quantity=1)
    order = checkout.place_order(cart, email="x@example.com", address=checkout.Address(**ADDRESS))
    s.refresh_from_db(), m.refresh_from_db(), tee.refresh_from_db()
    assert (s.stock, m.stock, tee.stock) == (0, 0, 0)
    assert StockOut.objects.filter(product=tee, ended_at=None).exists()  # every size gone
    lines = sorted(order.lines.values_list("sku", "variant_label", "quantity"))
    assert lines == [(f"{tee.sku}-M", "M", 1), (f"{tee.sku}-S", "S", 2)]
    order_flow.transition(order, "cancelled")
    s.refresh_from_db(), m.refresh_from_db(), tee.refresh_from_db()
    assert (s.stock, m.stock, tee.stock) == (2, 1, 3)
    assert not StockOut.objects.filter(product=tee, ended_at=None).exists()


def test_checkout_refuses_a_line_without_size_and_a_sold_out_size(tee):
    cart = Cart.objects.create()
    CartLine.objects.create(cart=cart, product=tee, quantity=1)  # e.g. variants added after it was carted
    with pytest.raises(checkout.CheckoutError, match="Choose a size"):
        checkout.place_order(cart, email="x@example.com", address=checkout.Address(**ADDRESS))
    cart.lines.all().delete()
    CartLine.objects.create(cart=cart, product=tee, variant=_v(tee, "M"), quantity=1)
    ProductVariant.objects.filter(size="M").update(stock=0)
    with pytest.raises(checkout.CheckoutError, match=r"Aurora Tee \(M\) is out of stock"):
        checkout.place_order(cart, email="x@example.com", address=checkout.Address(**ADDRESS))
    tee.refresh_from_db()
    assert tee.stock == 3 and not OrderLine.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_buyers_racing_for_the_last_units_of_a_size_never_oversell(make_product):
    """Real threads on PostgreSQL: 8 buyers want the last 3 of size M (and 1 of S each, plenty)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    p = make_product(name="Race Tee", price="10.00", stock=0)
    m = ProductVariant.objects.create(product=p, sku="RT-M", size="M", stock=3)
    s = ProductVariant.objects.create(product=p, sku="RT-S", size="S", stock=50)
    Product.objects.filter(pk=p.pk).update(stock=53)
    carts_ = []
    for _ in range(8):
        c = Cart.objects.create()
        CartLine.objects.create(cart=c, product=p, variant=m, quantity=1)
        CartLine.objects.create(cart=c, product=p, variant=s, quantity=1)
        carts_.append(c)
    results, barrier = [], threading.Barrier(8)

    def buy(c):
        try:
            barrier.wait()
            checkout.place_order(c, email="r@example.com", address=checkout.Address(**ADDRESS))
            results.append("ok")
        except checkout.CheckoutError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(c,)) for c in carts_]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    m.refresh_from_db(), s.refresh_from_db(), p.refresh_from_db()
    assert results.count("ok") == 3 and results.count("refused") == 5
    assert (m.stock, s.stock, p.stock) == (0, 47, 47)  # the product's stock is still the sum of its sizes


def test_stock_counted_per_size_in_the_admin_keeps_the_product_sum(admin_client, tee):
    m = _v(tee, "M")
    variants = list(tee.variants.order_by("position"))
    data = {"category": tee.category_id, "name": tee.name, "slug": tee.slug, "sku": tee.sku,
            "description": tee.description, "price": "20.00", "is_active": "on", "created_at_0": "2026-01-01",
            "created_at_1": "10:00:00", "attributes_key": ["colour"], "attributes_value": ["blue"],
            "variants-TOTAL_FORMS": str(len(variants) + 1), "variants-INITIAL_FORMS": str(len(variants)),
            "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "1000"}
    for prefix in ("images", "promotions"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
                     f"{prefix}-MAX_NUM_FORMS": "1000"})
    for i, v in enumerate(variants):
        data.update({f"variants-{i}-id": v.pk, f"variants-{i}-product": tee.pk, f"variants-{i}-size": v.size,
                     f"variants-{i}-colour": "", f"variants-{i}-sku": v.sku,
                     f"variants-{i}-stock": "9" if v.pk == m.pk else str(v.stock), f"variants-{i}-is_active": "on",
                     f"variants-{i}-position": v.position})
    n = len(variants)
    data.update({f"variants-{n}-product": tee.pk, f"variants-{n}-size": "XL", f"variants-{n}-colour": "",
                 f"variants-{n}-sku": f"{tee.sku}-XL", f"variants-{n}-stock": "4", f"variants-{n}-is_active": "on",
                 f"variants-{n}-position": "9"})
    r = admin_client.post(f"/admin/shop/product/{tee.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    tee.refresh_from_db()
    assert tee.stock == 2 + 9 + 0 + 4
    assert 'name="stock"' not in admin_client.get(f"/admin/shop/product/{tee.pk}/change/").content.decode()


def test_catalog_import_creates_variants_and_sales_import_records_them(tmp_path, make_product):
    f = tmp_path / "catalog.csv"
    f.write_text("sku,name,category,price,stock,parent_sku,size,colour\n"
                 "HD-1,Summit Hoodie,Apparel/Hoodies,49.00,0,,,\n"
                 "HD-1-S,,,,4,HD-1,S,\n"
                 "HD-1-M,,,,6,HD-1,M,\n")
    result = imports.load_catalog(imports.parse_catalog(f))
    assert result["created"] == 1 and result["variants created"] == 2
    hoodie = Product.objects.get(sku="HD-1")
    assert hoodie.stock == 10 and sorted(hoodie.variants.values_list("sku", "stock")) == [("HD-1-M", 6),
                                                                                          ("HD-1-S", 4)]
    f.write_text("sku,name,category,price,stock,parent_sku,size,colour\nHD-1-M,,,,2,HD-1,M,\n")
    imports.load_catalog(imports.parse_catalog(f))
    hoodie.refresh_from_db()
    assert hoodie.stock == 6
    for bad, message in [("X-1,,,,1,NOPE,M,\n", "neither a product"), ("X-2,,,,1,HD-1,,\n", "needs a size"),
                         ("HD-1,,,,1,HD-1,XL,\n", "product's SKU")]:
        f.write_text("sku,name,category,price,stock,parent_sku,size,colour\n" + bad)
        with pytest.raises(imports.ImportFailed, match=message):
            imports.parse_catalog(f)
    sales = tmp_path / "sales.csv"
    sales.write_text("date,sku,quantity,unit_price\n2026-01-05,HD-1-M,2,49.00\n2026-01-05,HD-1,1,49.00\n")
    imports.load_sales(imports.parse_sales(sales))
    lines = sorted(OrderLine.objects.values_list("product__sku", "sku", "variant_label", "quantity"))
    assert lines == [("HD-1", "HD-1", "", 1), ("HD-1", "HD-1-M", "M", 2)]
    hoodie.refresh_from_db()
    assert hoodie.stock == 6  # history does not touch today's stock


def test_api_lists_variants_and_the_cart_takes_them(client, tee):
    data = client.get(f"/api/products/{tee.slug}/").json()
    assert [v["size"] for v in data["variants"]] == ["S", "M", "L"]
    m = _v(tee, "M")
    r = client.post("/api/cart/", {"product_id": tee.pk, "quantity": 1}, content_type="application/json")
    assert r.status_code == 400 and "Choose a size" in r.json()["detail"]
    r = client.post("/api/cart/", {"product_id": tee.pk, "variant_id": m.pk, "quantity": 1},
                    content_type="application/json")
    assert r.status_code == 200 and r.json()[0]["variant"]["sku"] == m.sku


def test_analytics_stay_per_product_and_give_the_size_curve(tee, buy, make_product):
    s, m = _v(tee, "S"), _v(tee, "M")
    cart = Cart.objects.create()
    CartLine.objects.create(cart=cart, product=tee, variant=s, quantity=2)
    CartLine.objects.create(cart=cart, product=tee, variant=m, quantity=1)
    checkout.place_order(cart, email="x@example.com", address=checkout.Address(**ADDRESS))
    today = timezone.localdate()
    daily = analytics.daily_product_stats(today, today, product_ids=[tee.pk])
    assert daily.units.tolist() == [3]
    curve = analytics.variant_sales(today - timedelta(days=1), today)
    assert dict(zip(curve.sku, curve.share.round(3))) == {s.sku: 0.667, m.sku: 0.333}
    inter = analytics.interactions(today, today)
    assert set(inter[inter.event == "purchase"].variant_id) == {s.pk, m.pk}


def test_list_query_counts_stay_constant_with_variants_and_size_filters(client, make_product, settings):
    from shop.models import Category

    settings.SHOP_PAGE_SIZE = 50
    cat = Category.objects.create(name="Tees", slug="tees")

    def add(n):
        for i in range(n):
            p = make_product(category=cat, stock=6, attributes={"colour": "blue", "sizes": "S,M"})
            for size in ("S", "M"):
                ProductVariant.objects.create(product=p, sku=f"{p.sku}-{size}", size=size, stock=3)

    def count(url):
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    add(3)
    urls = ["/c/tees/", "/c/tees/?size=M&stock=1&colour=blue", "/", "/search/?q=product"]
    few = [count(u) for u in urls]
    add(12)
    assert [count(u) for u in urls] == few
    r = client.get("/c/tees/?size=M&stock=1")
    assert r.context["page"].paginator.count == 15
    assert {f.value: f.count for f in r.context["facets"].sizes} == {"S": 15, "M": 15}
