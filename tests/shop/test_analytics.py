"""The data contract the ML apps read: correct to the day."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from shop import analytics
from shop.models import Event, Order, OrderLine, Product, Promotion, StockOut

D0 = date(2025, 3, 1)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, 1 + day, hour, tzinfo=timezone.utc)


def _order(product, day, qty, price, status="delivered", user=None, hour=12):
    o = Order.objects.create(number=f"N{Order.objects.count()}", email="x@example.com", status=status,
                             full_name="x", address_line1="x", city="x", postal_code="x", country="DE",
                             payment_method="cod", currency="EUR", total=Decimal(price) * qty, created_at=at(day, hour),
                             user=user)
    OrderLine.objects.create(order=o, product=product, sku=product.sku, name=product.name, unit_price=price,
                             quantity=qty)
    return o


def test_daily_stats_hand_computed(make_product, user):
    p = make_product(price="20.00", created_at=at(0, 9))
    q = make_product(price="5.00", created_at=at(2, 9))  # appears on day 2
    _order(p, 0, 2, "20.00")
    _order(p, 0, 1, "20.00", hour=23)
    _order(p, 1, 5, "20.00", status="cancelled")  # not a sale
    _order(p, 3, 1, "15.00")  # promo day: 25% off
    _order(p, 5, 1, "22.00")  # the list price went up
    Promotion.objects.create(product=p, starts_on=D0 + timedelta(days=3), ends_on=D0 + timedelta(days=4),
                             discount_percent=25)
    StockOut.objects.create(product=p, started_at=at(1, 18), ended_at=at(2, 8))
    for day, n in [(0, 3), (1, 2), (4, 1)]:
        for _ in range(n):
            Event.objects.create(kind="view", at=at(day, 10), product=p, session_key="s")
    Event.objects.create(kind="cart_add", at=at(0, 11), product=p, quantity=3, session_key="s")
    Event.objects.create(kind="cart_remove", at=at(0, 11), product=p, quantity=1, session_key="s")
    Event.objects.create(kind="view", at=at(6, 1), product=p, session_key="s")  # after the range

    df = analytics.daily_product_stats(D0, D0 + timedelta(days=5))
    P = df[df.item_id == p.pk].set_index("date")
    assert list(P.units) == [3, 0, 0, 1, 0, 1]
    assert list(P.revenue) == [60.0, 0, 0, 15.0, 0, 22.0]
    assert list(P.views) == [3, 2, 0, 0, 1, 0]
    assert list(P.add_to_carts) == [3, 0, 0, 0, 0, 0]
    assert list(P.promo) == [0, 0, 0, 1, 1, 0]
    assert list(P.stockout) == [0, 1, 1, 0, 0, 0]
    # price: sold at 20; carried to days 1-2; 15 on the promo day; day 4 = implied list 20 * 0.75; then 22
    assert list(P.price) == [20.0, 20.0, 20.0, 15.0, 15.0, 22.0]
    Q = df[df.item_id == q.pk]
    assert list(Q.date) == [D0 + timedelta(days=k) for k in (2, 3, 4, 5)]
    assert list(Q.price) == [5.0] * 4 and Q.units.sum() == 0
    assert (df.sku[df.item_id == p.pk] == p.sku).all()


def test_interactions_log(make_product, user):
    p = make_product(created_at=at(0, 0))
    Event.objects.create(kind="view", at=at(0, 10), product=p, session_key="vis1", user=user)
    Event.objects.create(kind="cart_add", at=at(0, 11), product=p, session_key="vis1", user=user, quantity=2)
    Event.objects.create(kind="search", at=at(0, 11), query="mug", session_key="vis1")
    o = _order(p, 0, 2, "10.00", user=user, hour=13)
    _order(p, 0, 1, "10.00", status="cancelled", hour=14)
    df = analytics.interactions(D0, D0)
    assert list(df.event) == ["view", "cart", "purchase"]
    assert list(df.quantity) == [1, 2, 2]
    assert list(df.user_id) == [user.pk] * 3 and list(df.item_id) == [p.pk] * 3


@pytest.mark.slow
def test_daily_stats_reproduce_the_demo_generators_truth(db):
    """seed_demo writes orders and events; analytics must give back the generator's own daily numbers."""
    from shop.demo.generator import generate

    end = date(2026, 6, 30)
    call_command("seed_demo", products=12, customers=40, days=90, end=end, seed=3, verbosity=0)
    truth = generate(seed=3, end=end, days=90, n_products=12, n_customers=40).daily
    got = analytics.daily_product_stats(end - timedelta(days=89), end)
    got["item_id"] = got.sku
    m = truth.merge(got, on=["date", "item_id"], suffixes=("_t", "_g"), how="outer", indicator=True)
    assert (m._merge == "both").all(), m[m._merge != "both"].head()
    for col in ["units", "views", "add_to_carts", "promo", "stockout"]:
        assert (m[f"{col}_t"] == m[f"{col}_g"]).all(), col
    sold = m.units_t > 0
    assert np.allclose(m.price_t[sold], m.price_g[sold], atol=0.011)


def test_catalog_items_for_the_engines(make_product, django_assert_max_num_queries):
    from shop import images
    from shop.models import Category
    from tests.conftest import png_bytes

    top = Category.objects.create(name="Home", slug="home")
    mugs = Category.objects.create(name="Mugs", slug="mugs", parent=top)
    a = make_product(name="Blue Mug", category=mugs, price="9.50")
    images.add_product_image(a, png_bytes(), "blue.png")
    b = make_product(name="Old Mug", category=mugs, is_active=False)
    with django_assert_max_num_queries(3):
        df = analytics.catalog_items()
    assert list(df.item_id) == [a.pk, b.pk]
    row = df.iloc[0]
    assert (row["name"], row.category, row.category_path, row.price) == ("Blue Mug", "mugs", "home/mugs", 9.5)
    assert row.image.endswith(".png") and len(row.image_hash) == 64
    assert df.iloc[1].image == "" and list(analytics.catalog_items(active_only=True).item_id) == [a.pk]


def test_daily_stats_of_products_created_after_the_range_are_empty(make_product):
    make_product()  # created today
    yesterday = date.today() - timedelta(days=1)
    out = analytics.daily_product_stats(yesterday - timedelta(days=10), yesterday)
    assert out.empty and list(out.columns) == analytics.DAILY_COLUMNS
