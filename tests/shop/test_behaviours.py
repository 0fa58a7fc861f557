"""Shop behaviours that planted bugs slipped past: each test here fails when its rule breaks."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shop import checkout, order_flow
from shop.models import Cart, CartLine, Category, Order, Product, Promotion, StockOut
from tests.conftest import ADDRESS, run_together


def _cart(items, user=None):
    cart = Cart.objects.create(user=user)
    for product, qty in items.items():
        CartLine.objects.create(cart=cart, product=product, quantity=qty)
    return cart


# --- Stock-outs under concurrency, and the lock order ----------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_concurrent_sell_out_opens_exactly_one_stock_out(make_product):
    """Without the row lock stock still never oversells (the guarded UPDATE), but each checkout would compute the
    level left from a stale read and none would see it reach 0: the stock-out record, which the forecaster reads
    as "demand was censored", would be lost."""
    assert connection.vendor == "postgresql", "this test needs real row locks"
    product = make_product(stock=3)
    buyers = 8
    carts = [_cart({product: 1}) for _ in range(buyers)]
    results = run_together(lambda cart: checkout.place_order(cart, email="b@example.com",
                                                             address=checkout.Address(**ADDRESS)),
                           [(c,) for c in carts])
    assert all(isinstance(r, (Order, checkout.CheckoutError)) for r in results), results
    product.refresh_from_db()
    assert product.stock == 0 and Order.objects.count() == 3
    assert StockOut.objects.filter(product=product, ended_at=None).count() == 1


def test_checkout_locks_products_in_primary_key_order(make_product):
    a, b, c = make_product(stock=5), make_product(stock=5), make_product(stock=5)
    cart = Cart.objects.create()
    for p in (c, a, b):  # lines added in another order than the keys
        CartLine.objects.create(cart=cart, product=p, quantity=1)
    with CaptureQueriesContext(connection) as ctx:
        checkout.place_order(cart, email="o@example.com", address=checkout.Address(**ADDRESS))
    locks = [q["sql"] for q in ctx.captured_queries if "FOR UPDATE" in q["sql"] and '"shop_product"' in q["sql"]
             .split("FROM")[1].split("WHERE")[0]]
    assert len(locks) == 1, locks
    assert locks[0].rstrip().endswith('ORDER BY "shop_product"."id" ASC FOR UPDATE')


# --- Cancelling ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [["paid", "shipped"], ["paid", "shipped", "delivered"]])
def test_shipped_and_delivered_orders_cannot_be_cancelled(make_product, buy, path):
    product = make_product(stock=5)
    order = buy({product: 2})
    for status in path:
        order_flow.transition(order, status)
    with pytest.raises(order_flow.TransitionNotAllowed):
        order_flow.transition(order, Order.Status.CANCELLED)
    product.refresh_from_db()
    order.refresh_from_db()
    assert product.stock == 3 and order.status == path[-1]  # the delivered units did not come back


def test_refund_of_a_delivered_order_restocks_once(make_product, buy):
    product = make_product(stock=5)
    order = buy({product: 2})
    for status in ("paid", "shipped", "delivered", "refunded"):
        order_flow.transition(order, status)
    with pytest.raises(order_flow.TransitionNotAllowed):
        order_flow.transition(order, Order.Status.REFUNDED)
    product.refresh_from_db()
    assert product.stock == 5


# --- Escaping in listing cards --------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["home", "category", "search"])
def test_product_names_are_escaped_in_listing_cards(client, make_product, page):
    cat = Category.objects.create(name="Lamps", slug="lamps")
    make_product(name='<img src=x onerror="alert(1)">lamp', category=cat, stock=3)
    url = {"home": "/", "category": "/c/lamps/", "search": "/search/?q=lamp"}[page]
    body = client.get(url).content.decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;lamp" in body
    assert '<img src=x onerror="alert(1)">' not in body


# --- Merging carts at login -----------------------------------------------------------------------------------------
def test_merging_a_visitors_cart_at_login_never_exceeds_stock(client, make_product, user, settings):
    settings.SHOP_MAX_LINE_QUANTITY = 50
    both, only_visitor, sold_out, capped = (make_product(stock=4), make_product(stock=2), make_product(stock=3),
                                            make_product(stock=80))
    _cart({both: 3, sold_out: 1, capped: 40}, user=user)
    for p, qty in ((both, 3), (only_visitor, 2), (sold_out, 2), (capped, 30)):
        client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": qty})
    Product.objects.filter(pk__in=[only_visitor.pk, sold_out.pk]).update(stock=0)  # sold while the visitor browsed
    Product.objects.filter(pk=both.pk).update(stock=4)
    assert client.post(reverse("login"), {"username": "alice", "password": "s3cret-pass-123"}).status_code == 302
    merged = dict(Cart.objects.get(user=user).lines.values_list("product_id", "quantity"))
    stock = dict(Product.objects.values_list("pk", "stock"))
    assert all(qty <= stock[pid] for pid, qty in merged.items()), (merged, stock)
    assert merged == {both.pk: 4, capped.pk: 50}  # sold-out lines are dropped; the line cap holds too
    assert not Cart.objects.filter(user=None).exists()


# --- Promotions ---------------------------------------------------------------------------------------------------
def test_a_promotion_applies_on_its_last_day_at_checkout_and_on_pages(client, make_product):
    today = timezone.localdate()
    cat = Category.objects.create(name="Mugs", slug="mugs")
    p = make_product(name="Last Day Mug", price="20.00", stock=5, category=cat)
    Promotion.objects.create(product=p, starts_on=today - timedelta(days=7), ends_on=today, discount_percent=25)
    for url in ("/", "/c/mugs/", "/search/?q=mug", f"/p/{p.slug}/"):
        body = client.get(url).content.decode()
        assert "15.00 EUR" in body and "-25%" in body, url
    client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 2})
    assert "30.00 EUR" in client.get("/cart/").content.decode()
    r = client.post("/checkout/", {**ADDRESS, "email": "p@example.com", "payment_method": "cod"})
    assert r.status_code == 302
    order = Order.objects.get()
    assert str(order.subtotal) == "30.00" and str(order.lines.get().unit_price) == "15.00"


def test_a_promotion_does_not_apply_the_day_after(client, make_product):
    today = timezone.localdate()
    p = make_product(name="Over Mug", price="20.00", stock=5)
    Promotion.objects.create(product=p, starts_on=today - timedelta(days=7), ends_on=today - timedelta(days=1),
                             discount_percent=25)
    Promotion.objects.create(product=p, starts_on=today + timedelta(days=1), ends_on=today + timedelta(days=3),
                             discount_percent=40)
    body = client.get(f"/p/{p.slug}/").content.decode()
    assert "20.00 EUR" in body and "15.00 EUR" not in body and "12.00 EUR" not in body
    client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 1})
    client.post("/checkout/", {**ADDRESS, "email": "p@example.com", "payment_method": "cod"})
    assert str(Order.objects.get().subtotal) == "20.00"  # the lines; delivery comes on top
