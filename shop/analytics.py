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

catalog_items(active_only=False) -> DataFrame in the engines' items format:

    item_id, sku, name, description, category, category_path, price, stock, is_active, image, image_hash

    image is the main photo's name in the configured storage (open it with default_storage), image_hash its
    sha256, so feature caches can key on content.

photo_files(items, folder) -> list of local file paths (or "") for those photos, read through default_storage
    (local folder or S3 alike), for engines that read files.

interactions(start, end) -> DataFrame in the recommender engine's format:

    timestamp, user_id, session_id, item_id, event (view|cart|purchase), quantity, variant_id

    variant_id is the size or colour added to the cart or bought (None for views and products without variants).

Variants (sizes, colours): forecasts and recommendations stay per product. A product's sizes share its photo,
text, price and promotions, so the product is what the engines can learn from; splitting a product's few sales
a day over five sizes would leave series too sparse to forecast. Product-level stock is the sum of the sizes'
stock (shop.stock keeps it so), and stock-out flags are per product (every size gone). To turn a product
forecast into per-size reorders, multiply it by the size curve:

variant_sales(start, end) -> DataFrame, one row per variant with sales in the period:

    item_id, variant_id, sku, size, colour, units, share, stock

    share is the variant's part of its product's units in the period (the size curve), stock its stock now.

What shoppers did with products shown to them (an app's impressions and the clicks on its links, see shop.events),
for measuring them; ``source`` is the event source the app logs under (e.g. "recommendation"):

link_impressions(start, end, source) -> DataFrame, one row per visitor and link label:
    visitor, ref, impressions (events), shown (products shown, summed)
link_clicks(start, end, source) -> DataFrame, one row per product view reached through a labelled link:
    at, visitor, user_id, product_id, ref
visitor_outcomes(visitors, start, end) -> DataFrame, what those visitors put in a cart and bought:
    at, visitor, product_id, event (cart|purchase), quantity, revenue (purchases: unit_price * quantity;
    cancelled orders excluded)
"""
from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from django.core.files.storage import default_storage
from django.db.models import Count, F, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Event, Order, OrderLine, Product, ProductVariant, Promotion, StockOut

log = logging.getLogger(__name__)

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
    if prod.empty:  # every product was created after `end`
        return pd.DataFrame(columns=DAILY_COLUMNS)

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


INTERACTION_COLUMNS = ["timestamp", "user_id", "session_id", "item_id", "event", "quantity", "variant_id"]
_EVENT_NAMES = {Event.Kind.VIEW: "view", Event.Kind.CART_ADD: "cart"}


def interactions(start: date, end: date) -> pd.DataFrame:
    """Views, add-to-carts and purchases, oldest first. user_id is None for visitors who were not logged in."""
    lo, hi = _bounds(start, end)
    ev = _frame(Event.objects.filter(at__gte=lo, at__lt=hi, kind__in=list(_EVENT_NAMES), product__isnull=False)
                .values_list("at", "user_id", "session_key", "product_id", "kind", "quantity", "variant_id"),
                INTERACTION_COLUMNS)
    ev["event"] = ev.event.map(_EVENT_NAMES)
    buys = _frame(OrderLine.objects.filter(order__created_at__gte=lo, order__created_at__lt=hi, product__isnull=False)
                  .exclude(order__status=Order.Status.CANCELLED)
                  .values_list("order__created_at", "order__user_id", "order__session_key", "product_id",
                               "quantity", "variant_id"),
                  ["timestamp", "user_id", "session_id", "item_id", "quantity", "variant_id"])
    buys["event"] = "purchase"
    out = pd.concat([ev, buys[INTERACTION_COLUMNS]], ignore_index=True)
    out["timestamp"] = pd.to_datetime(out.timestamp, utc=True)
    out["user_id"] = out.user_id.astype("Int64")
    out["variant_id"] = out.variant_id.astype("Int64")
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)


VARIANT_SALES_COLUMNS = ["item_id", "variant_id", "sku", "size", "colour", "units", "share", "stock"]


def variant_sales(start: date, end: date) -> pd.DataFrame:
    """Units per variant in the period and each variant's share of its product's units (the size curve)."""
    lo, hi = _bounds(start, end)
    rows = _frame(OrderLine.objects.filter(order__created_at__gte=lo, order__created_at__lt=hi,
                                           variant__isnull=False)
                  .exclude(order__status=Order.Status.CANCELLED)
                  .values("product_id", "variant_id").annotate(units=Sum("quantity"))
                  .values_list("product_id", "variant_id", "units"), ["item_id", "variant_id", "units"])
    if rows.empty:
        return pd.DataFrame(columns=VARIANT_SALES_COLUMNS)
    info = _frame(ProductVariant.objects.filter(pk__in=rows.variant_id.tolist())
                  .values_list("pk", "sku", "size", "colour", "stock"),
                  ["variant_id", "sku", "size", "colour", "stock"])
    out = rows.merge(info, on="variant_id", how="inner")
    out["share"] = out.units / out.groupby("item_id").units.transform("sum")
    return out[VARIANT_SALES_COLUMNS].sort_values(["item_id", "variant_id"]).reset_index(drop=True)


ITEM_COLUMNS = ["item_id", "sku", "name", "description", "category", "category_path", "price", "stock", "is_active",
                "image", "image_hash"]


def catalog_items(active_only: bool = False) -> pd.DataFrame:
    """Product content for the engines (text, category, price, main photo), one row per product."""
    products = Product.objects.select_related("category", "category__parent").prefetch_related("images")
    if active_only:
        products = products.filter(is_active=True)
    rows = []
    for p in products.order_by("pk"):
        img = p.main_image
        cat = p.category
        rows.append((p.pk, p.sku, p.name, p.description, cat.slug,
                     f"{cat.parent.slug}/{cat.slug}" if cat.parent_id else cat.slug, float(p.price), p.stock,
                     p.is_active, img.image.name if img else "", img.content_hash if img else ""))
    return pd.DataFrame.from_records(rows, columns=ITEM_COLUMNS)


def photo_files(items: pd.DataFrame, folder, workers: int = 8) -> list[str]:
    """Local file paths of the photos named in ``items`` (columns ``image`` and ``image_hash`` of
    :func:`catalog_items`), in row order; "" where a product has no photo or its photo cannot be read (logged).

    Photos are read through ``default_storage``: a storage with local files (the default) gives their own paths;
    any other (S3) has each photo copied once into ``folder`` under its sha256, so an unchanged photo is never
    fetched again and a changed one (new hash) is.
    """
    folder = Path(folder)
    rows = list(zip(items["image"].fillna("").astype(str), items["image_hash"].fillna("").astype(str)))

    def one(row) -> str:
        name, digest = row
        if not name:
            return ""
        try:
            try:
                path = default_storage.path(name)
            except NotImplementedError:  # remote storage: keep a local copy keyed by content
                path = None
            if path is not None:
                if not os.path.exists(path):
                    raise FileNotFoundError(name)
                return str(path)
            ext = Path(name).suffix.lower()[:8]
            target = folder / digest[:2] / f"{digest}{ext}" if len(digest) == 64 else None
            if target is not None and target.exists():
                return str(target)
            with default_storage.open(name, "rb") as fh:
                data = fh.read()
            digest = hashlib.sha256(data).hexdigest()
            target = folder / digest[:2] / f"{digest}{ext}"
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
            return str(target)
        except Exception as exc:  # noqa: BLE001 - a missing photo must not stop a training run
            log.warning("photo %s could not be read from storage (%s: %s); the product counts as having none",
                        name, type(exc).__name__, exc)
            return ""

    if not rows:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(rows)))) as pool:
        return list(pool.map(one, rows))


def link_impressions(start: date, end: date, source: str) -> pd.DataFrame:
    lo, hi = _bounds(start, end)
    rows = (Event.objects.filter(kind=Event.Kind.IMPRESSION, source=source, at__gte=lo, at__lt=hi)
            .values("session_key", ref=KT("data__ref")).annotate(n=Count("id"), shown=Sum("quantity"))
            .values_list("session_key", "ref", "n", "shown"))
    out = _frame(rows, ["visitor", "ref", "impressions", "shown"])
    return out.astype({"impressions": np.int64, "shown": np.int64}).fillna({"ref": ""})


def link_clicks(start: date, end: date, source: str) -> pd.DataFrame:
    lo, hi = _bounds(start, end)
    rows = (Event.objects.filter(kind=Event.Kind.VIEW, source=source, at__gte=lo, at__lt=hi,
                                 data__ref__isnull=False)
            .values_list("at", "session_key", "user_id", "product_id", KT("data__ref")).order_by("at", "pk"))
    out = _frame(rows, ["at", "visitor", "user_id", "product_id", "ref"])
    out["at"] = pd.to_datetime(out["at"], utc=True)
    return out


OUTCOME_COLUMNS = ["at", "visitor", "product_id", "event", "quantity", "revenue"]


def visitor_outcomes(visitors, start: date, end: date, chunk: int = 2000) -> pd.DataFrame:
    lo, hi = _bounds(start, end)
    visitors = sorted({v for v in visitors if v})
    frames = []
    for a in range(0, len(visitors), chunk):
        part = visitors[a:a + chunk]
        carts = _frame(Event.objects.filter(kind=Event.Kind.CART_ADD, session_key__in=part, at__gte=lo, at__lt=hi,
                                            product__isnull=False)
                       .values_list("at", "session_key", "product_id", "quantity"),
                       ["at", "visitor", "product_id", "quantity"])
        carts["event"], carts["revenue"] = "cart", 0.0
        buys = _frame(OrderLine.objects.filter(order__session_key__in=part, order__created_at__gte=lo,
                                               order__created_at__lt=hi, product__isnull=False)
                      .exclude(order__status=Order.Status.CANCELLED)
                      .values_list("order__created_at", "order__session_key", "product_id", "quantity",
                                   "unit_price"),
                      ["at", "visitor", "product_id", "quantity", "unit_price"])
        buys["event"] = "purchase"
        buys["revenue"] = buys["quantity"].astype(float) * buys["unit_price"].astype(float)
        frames += [carts[OUTCOME_COLUMNS], buys[OUTCOME_COLUMNS]]
    if not frames:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["at"] = pd.to_datetime(out["at"], utc=True)
    return out.sort_values("at", kind="stable").reset_index(drop=True)
