"""What the ML apps read from the shop: daily stats per product and the interaction log.

This module is the data contract. The ML apps never query shop tables themselves.

daily_product_stats(start, end) -> DataFrame, one row per product and day from the later of `start` and the
product's creation day, to `end` (inclusive), in the forecasting engine's long format:

    date, item_id, units, revenue, views, add_to_carts, price, promo, stockout

    units, revenue   order lines of orders placed that day (cancelled orders excluded; refunds still count as
                     demand), revenue = sum(unit_price * quantity)
    views            product-view events that day
    add_to_carts     units added to a cart that day
    price            average selling price that day; on days without a sale, the last seen list price (undoing
                     the promotion of the day it was seen), less that day's promotion; the current list price
                     where no sale was ever seen
    promo            1 if a promotion ran that day
    stockout         1 if a stock-out period overlapped that day

item_id is the product's primary key (sku carries the SKU). Days are in settings.TIME_ZONE.

interactions(start, end) -> DataFrame in the recommender engine's format:

    timestamp, user_id, session_id, item_id, event (view|cart|purchase), quantity
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Event, Order, OrderLine, Product, Promotion, StockOut

DAILY_COLUMNS = ["date", "item_id", "sku", "units", "revenue", "views", "add_to_carts", "price", "promo",
                 "stockout"]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=tz),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))


def _frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def daily_product_stats(start: date, end: date, product_ids=None) -> pd.DataFrame:
    if end < start:
        raise ValueError("end is before start")
    lo, hi = _bounds(start, end)
    products = Product.objects.all()
    if product_ids is not None:
        products = products.filter(pk__in=list(product_ids))
    prod = _frame(products.values_list("pk", "sku", "price", "created_at"), ["item_id", "sku", "list_price",
                                                                              "created_at"])
    if prod.empty:
        return pd.DataFrame(columns=DAILY_COLUMNS)
    ids = prod.item_id.tolist()
    tz = timezone.get_current_timezone()
    prod["first_day"] = [max(start, timezone.localtime(c, tz).date()) for c in prod.created_at]
    prod = prod[prod.first_day <= end]

    days = pd.date_range(start, end, freq="D")
    grid = pd.DataFrame({"item_id": np.repeat(prod.item_id.to_numpy(), len(days)),
                         "date": np.tile(days.to_numpy(), len(prod))})
    first = dict(zip(prod.item_id, pd.to_datetime(prod.first_day)))
    grid = grid[grid.date >= grid.item_id.map(first)]

    sales = _frame(
        OrderLine.objects.filter(order__created_at__gte=lo, order__created_at__lt=hi, product_id__in=ids)
        .exclude(order__status=Order.Status.CANCELLED)
        .annotate(day=TruncDate("order__created_at", tzinfo=tz))
        .values("product_id", "day")
        .annotate(units=Sum("quantity"), revenue=Sum(F("unit_price") * F("quantity")))
        .values_list("product_id", "day", "units", "revenue"),
        ["item_id", "date", "units", "revenue"])
    ev = _frame(
        Event.objects.filter(at__gte=lo, at__lt=hi, product_id__in=ids,
                             kind__in=[Event.Kind.VIEW, Event.Kind.CART_ADD])
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("product_id", "day", "kind")
        .annotate(n=Count("id"), q=Sum("quantity"))
        .values_list("product_id", "day", "kind", "n", "q"),
        ["item_id", "date", "kind", "n", "q"])
    for frame in (sales, ev):
        frame["date"] = pd.to_datetime(frame["date"])
    views = ev[ev.kind == Event.Kind.VIEW][["item_id", "date", "n"]].rename(columns={"n": "views"})
    carts = ev[ev.kind == Event.Kind.CART_ADD][["item_id", "date", "q"]].rename(columns={"q": "add_to_carts"})
    out = (grid.merge(sales, on=["item_id", "date"], how="left")
           .merge(views, on=["item_id", "date"], how="left")
           .merge(carts, on=["item_id", "date"], how="left"))
    out["units"] = out.units.fillna(0).astype(np.int64)
    out["revenue"] = out.revenue.fillna(0).astype(float)
    out["views"] = out.views.fillna(0).astype(np.int64)
    out["add_to_carts"] = out.add_to_carts.fillna(0).astype(np.int64)

    discount = _expand_days(
        _frame(Promotion.objects.filter(product_id__in=ids, starts_on__lte=end, ends_on__gte=start)
               .values_list("product_id", "starts_on", "ends_on", "discount_percent"),
               ["item_id", "first", "last", "value"]), start, end, agg="max")
    out = out.merge(discount.rename(columns={"value": "discount"}), on=["item_id", "date"], how="left")
    out["discount"] = out.discount.fillna(0) / 100.0
    out["promo"] = (out.discount > 0).astype(np.int64)

    so = _frame(StockOut.objects.filter(product_id__in=ids, started_at__lt=hi)
                .exclude(ended_at__lt=lo).values_list("product_id", "started_at", "ended_at"),
                ["item_id", "first", "last"])
    if not so.empty:
        so["first"] = [timezone.localtime(x, tz).date() for x in so["first"]]
        so["last"] = [end if pd.isna(x) else timezone.localtime(x, tz).date() for x in so["last"]]
    so["value"] = 1
    so = _expand_days(so, start, end, agg="max")
    out = out.merge(so.rename(columns={"value": "stockout"}), on=["item_id", "date"], how="left")
    out["stockout"] = out.stockout.fillna(0).astype(np.int64)

    # Price: the list price implied by each sale, carried to days without one, less that day's promotion.
    out = out.sort_values(["item_id", "date"], kind="stable")
    asp = np.where(out.units > 0, out.revenue / out.units.where(out.units > 0, 1), np.nan)
    implied_list = pd.Series(asp / (1 - out.discount.to_numpy()), index=out.index)
    implied_list = implied_list.groupby(out.item_id).transform(lambda s: s.ffill().bfill())
    implied_list = implied_list.fillna(out.item_id.map(dict(zip(prod.item_id, prod.list_price.astype(float)))))
    out["price"] = np.where(out.units > 0, asp, (implied_list * (1 - out.discount)).round(2))
    out["sku"] = out.item_id.map(dict(zip(prod.item_id, prod.sku)))
    out["date"] = out.date.dt.date
    return out[DAILY_COLUMNS].reset_index(drop=True)


def _expand_days(periods: pd.DataFrame, start: date, end: date, agg: str) -> pd.DataFrame:
    """Rows (item_id, first, last, value) -> one row per item and day inside [start, end]."""
    if periods.empty:
        return pd.DataFrame({"item_id": pd.Series(dtype=np.int64), "date": pd.Series(dtype="datetime64[ns]"),
                             "value": pd.Series(dtype=float)})
    first = pd.to_datetime(periods["first"]).clip(lower=pd.Timestamp(start))
    last = pd.to_datetime(periods["last"]).clip(upper=pd.Timestamp(end))
    n = ((last - first).dt.days + 1).clip(lower=0).to_numpy()
    rows = pd.DataFrame({
        "item_id": np.repeat(periods.item_id.to_numpy(), n),
        "date": np.repeat(first.to_numpy(), n) + pd.to_timedelta(np.concatenate([np.arange(k) for k in n]) if len(n)
                                                                   else [], unit="D"),
        "value": np.repeat(periods.value.to_numpy().astype(float), n),
    })
    return rows.groupby(["item_id", "date"], as_index=False)["value"].agg(agg)


INTERACTION_COLUMNS = ["timestamp", "user_id", "session_id", "item_id", "event", "quantity"]
_EVENT_NAMES = {Event.Kind.VIEW: "view", Event.Kind.CART_ADD: "cart"}


def interactions(start: date, end: date) -> pd.DataFrame:
    """Views, add-to-carts and purchases, oldest first. user_id is None for visitors who were not logged in."""
    lo, hi = _bounds(start, end)
    ev = _frame(Event.objects.filter(at__gte=lo, at__lt=hi, kind__in=list(_EVENT_NAMES), product__isnull=False)
                .values_list("at", "user_id", "session_key", "product_id", "kind", "quantity"),
                INTERACTION_COLUMNS)
    ev["event"] = ev.event.map(_EVENT_NAMES)
    buys = _frame(OrderLine.objects.filter(order__created_at__gte=lo, order__created_at__lt=hi, product__isnull=False)
                  .exclude(order__status=Order.Status.CANCELLED)
                  .values_list("order__created_at", "order__user_id", "order__session_key", "product_id",
                               "quantity"),
                  ["timestamp", "user_id", "session_id", "item_id", "quantity"])
    buys["event"] = "purchase"
    out = pd.concat([ev, buys[INTERACTION_COLUMNS]], ignore_index=True)
    out["timestamp"] = pd.to_datetime(out.timestamp, utc=True)
    out["user_id"] = out.user_id.astype("Int64")
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)
