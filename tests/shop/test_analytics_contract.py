"""The numbers the ML apps and the recommendation report read from the shop, against hand-computed values: the
edges of the date range, promotions and stock-outs that run past it, prices on days without a sale, the size curve,
the interaction log, and what shoppers did with the links they were shown."""
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from shop import analytics, images
from shop.models import Category, Event, Order, OrderLine, ProductVariant, Promotion, StockOut
from tests.conftest import png_bytes

D0 = date(2025, 3, 1)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2025, 3, 1, hour, minute, tzinfo=timezone.utc) + timedelta(days=day)


def order(lines, day, status="delivered", user=None, hour=12, minute=0, visitor=""):
    o = Order.objects.create(number=f"N{Order.objects.count()}", email="x@example.com", status=status,
                             full_name="x", address_line1="x", city="x", postal_code="x", country="DE",
                             payment_method="cod", currency="EUR", total=0, created_at=at(day, hour, minute),
                             user=user, session_key=visitor)
    for product, qty, price, *variant in lines:
        OrderLine.objects.create(order=o, product=product, variant=variant[0] if variant else None, sku=product.sku,
                                 name=product.name, unit_price=price, quantity=qty)
    return o


def event(kind, day, product=None, hour=12, **kw):
    return Event.objects.create(kind=kind, at=at(day, hour), product=product, **kw)


# --- daily_product_stats --------------------------------------------------------------------------------------------
def test_a_range_that_ends_before_it_starts_is_refused(db):
    with pytest.raises(ValueError, match="end is before start"):
        analytics.daily_product_stats(D0, D0 - timedelta(days=1))
    assert list(analytics.daily_product_stats(D0, D0).columns) == analytics.DAILY_COLUMNS  # no products: empty
    assert analytics.daily_product_stats(D0, D0).empty


def test_the_first_and_last_minute_of_the_range_count_and_nothing_outside(make_product):
    p = make_product(price="10.00", created_at=at(-5))
    order([(p, 1, "10.00")], -1, hour=23, minute=59)
    order([(p, 2, "10.00")], 0, hour=0)
    order([(p, 3, "10.00")], 2, hour=23, minute=59)
    order([(p, 4, "10.00")], 3, hour=0)
    order([(p, 5, "10.00")], 1, status="refunded")  # a refund was still demand
    event("view", -1, p, hour=23, session_key="s")
    event("view", 0, p, hour=0, session_key="s")
    event("cart_add", 2, p, hour=23, session_key="s", quantity=2)
    event("cart_add", 3, p, hour=0, session_key="s", quantity=7)
    df = analytics.daily_product_stats(D0, D0 + timedelta(days=2))
    assert list(df.date) == [D0, D0 + timedelta(days=1), D0 + timedelta(days=2)]
    assert list(df.units) == [2, 5, 3] and list(df.revenue) == [20.0, 50.0, 30.0]
    assert list(df.views) == [1, 0, 0] and list(df.add_to_carts) == [0, 0, 2]
    assert df.units.dtype == np.int64 and df.views.dtype == np.int64 and df.revenue.dtype == float


def test_only_the_products_asked_for(make_product):
    p, q = make_product(created_at=at(-1)), make_product(created_at=at(-1))
    df = analytics.daily_product_stats(D0, D0 + timedelta(days=1), product_ids=[q.pk])
    assert set(df.item_id) == {q.pk} and len(df) == 2 and set(df.sku) == {q.sku}
    assert analytics.daily_product_stats(D0, D0, product_ids=[]).empty


def test_a_product_starts_on_the_day_it_was_created(make_product):
    p = make_product(created_at=at(1, 23))
    df = analytics.daily_product_stats(D0, D0 + timedelta(days=3))
    assert list(df.date) == [D0 + timedelta(days=k) for k in (1, 2, 3)] and set(df.item_id) == {p.pk}
    assert list(analytics.daily_product_stats(D0 + timedelta(days=1), D0 + timedelta(days=1)).date) == [
        D0 + timedelta(days=1)]


def test_promotions_and_stock_outs_that_run_past_the_range_are_cut_to_it(make_product):
    p = make_product(price="10.00", created_at=at(-30))
    Promotion.objects.create(product=p, starts_on=D0 - timedelta(days=10), ends_on=D0 + timedelta(days=1),
                             discount_percent=20)
    Promotion.objects.create(product=p, starts_on=D0 + timedelta(days=1), ends_on=D0 + timedelta(days=30),
                             discount_percent=50)  # overlaps on day 1: the larger discount prices it
    StockOut.objects.create(product=p, started_at=at(-20), ended_at=at(0, 9))
    StockOut.objects.create(product=p, started_at=at(2, 18), ended_at=None)  # still out of stock
    StockOut.objects.create(product=p, started_at=at(-20), ended_at=at(-19))  # long over
    df = analytics.daily_product_stats(D0, D0 + timedelta(days=3))
    assert list(df.promo) == [1, 1, 1, 1] and list(df.stockout) == [1, 0, 1, 1]
    assert list(df.price) == [8.0, 5.0, 5.0, 5.0]  # never sold: the list price less each day's promotion
    assert df.promo.dtype == np.int64 and df.stockout.dtype == np.int64


def test_the_price_on_days_without_a_sale_comes_from_the_nearest_sale(make_product):
    p = make_product(price="99.00", created_at=at(-1))  # the list price now: not what it sold at then
    q = make_product(price="4.00", created_at=at(-1))
    Promotion.objects.create(product=p, starts_on=D0, ends_on=D0, discount_percent=10)
    order([(p, 2, "18.00")], 1)  # 18.00 a unit
    order([(p, 1, "24.00"), (q, 1, "3.00")], 3)  # the list price went up
    df = analytics.daily_product_stats(D0, D0 + timedelta(days=4))
    P, Q = df[df.item_id == p.pk], df[df.item_id == q.pk]
    # day 0 has a 10 % promotion before the first sale: the implied list price 18 less 10 % = 16.20
    assert list(P.price) == [16.2, 18.0, 18.0, 24.0, 24.0]
    assert list(Q.price) == [3.0, 3.0, 3.0, 3.0, 3.0]  # another product's sales do not leak in


def test_the_average_selling_price_of_a_day_with_two_prices(make_product):
    p = make_product(price="10.00", created_at=at(-1))
    order([(p, 1, "10.00")], 0)
    order([(p, 3, "6.00")], 0)
    df = analytics.daily_product_stats(D0, D0)
    assert df.units.tolist() == [4] and df.revenue.tolist() == [28.0] and df.price.tolist() == [7.0]


# --- interactions ---------------------------------------------------------------------------------------------------
def test_the_interaction_log_in_order_with_sessions_and_sizes(make_product, user):
    p = make_product(created_at=at(-1))
    m = ProductVariant.objects.create(product=p, sku="P-M", size="M", stock=3)
    event("view", 0, p, hour=9, session_key="vis1")
    event("cart_add", 0, p, hour=10, session_key="vis1", user=user, quantity=2, variant=m)
    event("cart_remove", 0, p, hour=10, session_key="vis1", quantity=1)
    event("view", 0, None, hour=10, session_key="vis1")  # a product deleted since
    event("view", -1, p, hour=23, session_key="vis1")
    event("view", 1, p, hour=0, session_key="vis1")
    order([(p, 3, "5.00", m)], 0, user=user, hour=11, visitor="vis1")
    order([(p, 1, "5.00")], 0, hour=8, visitor="vis2")
    order([(p, 1, "5.00")], 0, status="cancelled", hour=12)
    df = analytics.interactions(D0, D0)
    assert list(df.columns) == analytics.INTERACTION_COLUMNS
    assert list(df.event) == ["purchase", "view", "cart", "purchase"]
    assert list(df.session_id) == ["vis2", "vis1", "vis1", "vis1"]
    assert list(df.quantity) == [1, 1, 2, 3] and set(df.item_id) == {p.pk}
    assert df.user_id.isna().tolist() == [True, True, False, False] and df.user_id.iloc[3] == user.pk
    assert df.variant_id.isna().tolist() == [True, True, False, False] and df.variant_id.iloc[2] == m.pk
    assert list(df.timestamp) == [pd.Timestamp(at(0, h)) for h in (8, 9, 10, 11)]


# --- the size curve -------------------------------------------------------------------------------------------------
def test_variant_sales_give_each_sizes_share_of_its_product(make_product):
    p, q = make_product(), make_product()
    s = ProductVariant.objects.create(product=p, sku="P-S", size="S", stock=4)
    m = ProductVariant.objects.create(product=p, sku="P-M", size="M", colour="Red", stock=1)
    x = ProductVariant.objects.create(product=q, sku="Q-X", size="XL", stock=0)
    order([(p, 1, "5.00", s), (p, 3, "5.00", m), (q, 2, "5.00", x)], 0)
    order([(p, 4, "5.00", s)], 1)
    order([(p, 9, "5.00", s)], 1, status="cancelled")
    order([(p, 9, "5.00", m)], 2)  # after the period
    order([(q, 9, "5.00")], 0)  # no size
    df = analytics.variant_sales(D0, D0 + timedelta(days=1))
    assert list(df.columns) == analytics.VARIANT_SALES_COLUMNS
    got = [tuple(r) for r in df[["item_id", "variant_id", "sku", "size", "colour", "units", "stock"]].to_numpy()]
    assert got == [(p.pk, s.pk, "P-S", "S", "", 5, 4), (p.pk, m.pk, "P-M", "M", "Red", 3, 1),
                   (q.pk, x.pk, "Q-X", "XL", "", 2, 0)]
    assert np.allclose(df.share, [5 / 8, 3 / 8, 1.0])
    assert analytics.variant_sales(D0 + timedelta(days=5), D0 + timedelta(days=6)).empty


# --- the catalog and its photos -------------------------------------------------------------------------------------
def test_catalog_items_of_a_top_level_category(make_product):
    top = Category.objects.create(name="Lamps", slug="lamps")
    p = make_product(name="Desk Lamp", category=top, price="30.00", stock=7, description="Bright.")
    row = analytics.catalog_items().iloc[0]
    assert (row.item_id, row.sku, row["name"], row.description, row.category, row.category_path, row.price,
            row.stock, row.is_active, row.image, row.image_hash) == (
        p.pk, p.sku, "Desk Lamp", "Bright.", "lamps", "lamps", 30.0, 7, True, "", "")


def test_photo_files_are_the_local_files_or_empty(make_product, caplog):
    a, b, c = make_product(), make_product(), make_product()
    images.add_product_image(a, png_bytes(), "a.png")
    images.add_product_image(c, png_bytes((1, 2, 3)), "c.png")
    items = analytics.catalog_items()
    c.images.get().image.storage.delete(c.images.get().image.name)  # gone from storage
    with caplog.at_level("WARNING", logger="shop.analytics"):
        paths = analytics.photo_files(items, "/nonexistent-cache", workers=2)
    assert paths[0] == a.images.get().image.path and paths[1] == "" and paths[2] == ""
    assert "could not be read from storage" in caplog.text and c.images.get().image.name in caplog.text
    assert analytics.photo_files(items.iloc[:0], "/nonexistent-cache") == []


# --- links shown and clicked (the recommendation report) ----------------------------------------------------------
def test_impressions_per_visitor_and_link(db):
    src = "recommendation"
    event("impression", 0, session_key="v1", source=src, quantity=4, data={"ref": "home"})
    event("impression", 0, session_key="v1", source=src, quantity=6, data={"ref": "home"})
    event("impression", 1, session_key="v1", source=src, quantity=3, data={"ref": "product"})
    event("impression", 0, session_key="v2", source=src, quantity=5, data={})
    event("impression", 0, session_key="v3", source="list", quantity=9, data={"ref": "home"})
    event("impression", 2, session_key="v4", source=src, quantity=9, data={"ref": "home"})  # after the range
    event("view", 0, session_key="v5", source=src, data={"ref": "home"})  # a click, not an impression
    df = analytics.link_impressions(D0, D0 + timedelta(days=1), src).sort_values(["visitor", "ref"])
    assert [tuple(r) for r in df.to_numpy()] == [("v1", "home", 2, 10), ("v1", "product", 1, 3), ("v2", "", 1, 5)]
    assert df.impressions.dtype == np.int64 and df.shown.dtype == np.int64


def test_clicks_are_views_that_carry_a_links_label(make_product, user):
    p = make_product()
    src = "recommendation"
    event("view", 1, p, hour=9, session_key="v1", user=user, source=src, data={"ref": "home"})
    event("view", 0, p, hour=9, session_key="v2", source=src, data={"ref": "product"})
    event("view", 0, p, hour=10, session_key="v3", source=src, data={})  # no label: not a click
    event("view", 0, p, hour=10, session_key="v4", source="search", data={"ref": "home"})
    event("impression", 0, p, hour=11, session_key="v5", source=src, data={"ref": "home"})
    event("view", 2, p, session_key="v6", source=src, data={"ref": "home"})  # after the range
    df = analytics.link_clicks(D0, D0 + timedelta(days=1), src)
    assert list(df.visitor) == ["v2", "v1"] and list(df.ref) == ["product", "home"]
    assert list(df.product_id) == [p.pk, p.pk] and df.user_id.iloc[1] == user.pk
    assert list(df["at"]) == [pd.Timestamp(at(0, 9)), pd.Timestamp(at(1, 9))]


def test_what_the_visitors_put_in_a_cart_and_bought(make_product):
    p, q = make_product(), make_product()
    event("cart_add", 0, p, hour=9, session_key="v1", quantity=2)
    event("cart_add", 0, None, hour=9, session_key="v1", quantity=2)  # a deleted product
    event("cart_add", 0, q, hour=10, session_key="other", quantity=1)
    event("view", 0, q, hour=10, session_key="v1")
    order([(p, 2, "4.50"), (q, 1, "10.00")], 0, hour=11, visitor="v2")
    order([(p, 5, "4.50")], 0, hour=12, visitor="v2", status="cancelled")
    order([(p, 5, "4.50")], 0, hour=12, visitor="other")
    order([(p, 5, "4.50")], 3, visitor="v1")  # after the range
    for chunk in (2000, 1):
        df = analytics.visitor_outcomes(["v1", "v2", "", "v2"], D0, D0 + timedelta(days=1), chunk=chunk)
        assert list(df.columns) == analytics.OUTCOME_COLUMNS
        got = sorted(tuple(r) for r in df[["visitor", "product_id", "event", "quantity", "revenue"]].to_numpy())
        assert got == sorted([("v1", p.pk, "cart", 2, 0.0), ("v2", p.pk, "purchase", 2, 9.0),
                              ("v2", q.pk, "purchase", 1, 10.0)])
        assert list(df["at"]) == sorted(df["at"])
    empty = analytics.visitor_outcomes(["", None], D0, D0)
    assert empty.empty and list(empty.columns) == analytics.OUTCOME_COLUMNS
