"""Publish a complete forecast in bulk and swap it in atomically.

    publication = publish(version, frame, as_of=date(2026, 11, 20), cold_start={12: True})

``frame``: one row per product and day, columns ``product_id, date, p10, p50, p90``, the ``horizon`` days after
``as_of``. Rows go in with COPY (PostgreSQL) or batched INSERTs (SQLite) in short transactions while the
publication is ``writing``; a second short transaction makes it ``live``. Nothing a reader can see changes until
then, and a publication that fails half-way is deleted: the live one keeps serving.
"""
from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction

from registry.models import ModelVersion
from registry.publish import Publications, chunk_rows
from shop import analytics
from shop.imports import bulk_insert

from .inventory import Policy, summarise
from .models import Forecast, ProductForecast, Publication

log = logging.getLogger(__name__)
HORIZON = 45
PUBLICATIONS = Publications(Publication, [Forecast, ProductForecast])


class PublishError(ValueError):
    """The forecast cannot be published as given; nothing was changed."""


def policy() -> Policy:
    return Policy(lead_time_days=settings.FORECAST_LEAD_TIME_DAYS, review_days=settings.FORECAST_REVIEW_DAYS,
                  service_level=settings.FORECAST_SERVICE_LEVEL)


def check_frame(frame: pd.DataFrame, as_of: date, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate and reshape to (product ids, array (products, horizon, 3)). Raises PublishError naming the problem."""
    missing = [c for c in ("product_id", "date", "p10", "p50", "p90") if c not in frame.columns]
    if missing:
        raise PublishError(f"forecast frame misses column(s) {missing}")
    if frame.empty:
        raise PublishError("forecast frame has no rows")
    df = frame[["product_id", "date", "p10", "p50", "p90"]].copy()
    df["date"] = pd.to_datetime(df["date"]).dt.date
    q = df[["p10", "p50", "p90"]].to_numpy(float)
    if not np.isfinite(q).all():
        bad = df[~np.isfinite(q).all(1)].iloc[0]
        raise PublishError(f"forecast for product {bad.product_id} on {bad.date} is not a finite number")
    expected = [as_of + timedelta(days=h) for h in range(1, horizon + 1)]
    df = df.sort_values(["product_id", "date"], kind="stable")
    counts = df.groupby("product_id").size()
    if (counts != horizon).any():
        pid = counts[counts != horizon].index[0]
        raise PublishError(f"product {pid} has {counts[pid]} forecast days, expected {horizon}")
    ids = counts.index.to_numpy()
    dates = df["date"].to_numpy().reshape(len(ids), horizon)
    if not (dates == np.array(expected, dtype=object)[None, :]).all():
        row = int(np.flatnonzero((dates != np.array(expected, dtype=object)[None, :]).any(1))[0])
        raise PublishError(f"product {ids[row]}: forecast days must be {expected[0]} to {expected[-1]}")
    values = np.sort(np.clip(df[["p10", "p50", "p90"]].to_numpy(float), 0, None), axis=1)  # p10 <= p50 <= p90
    return ids.astype(np.int64), values.reshape(len(ids), horizon, 3)


def _daily_prices(ids: np.ndarray, as_of: date, horizon: int, list_price: dict) -> np.ndarray:
    """Selling price per product and forecast day: the list price less the promotions already planned."""
    days = analytics.daily_product_stats(as_of + timedelta(days=1), as_of + timedelta(days=horizon), ids.tolist())
    out = np.array([[list_price.get(int(i), 0.0)] * horizon for i in ids], float)
    if not days.empty:
        pos = {int(i): k for k, i in enumerate(ids)}
        d0 = as_of + timedelta(days=1)
        rows = days["item_id"].map(pos).to_numpy()
        cols = np.array([(d - d0).days for d in days["date"]])
        out[rows, cols] = days["price"].to_numpy(float)
    return out


def publish(version: ModelVersion, frame: pd.DataFrame, *, as_of: date, horizon: int = HORIZON,
            cold_start: dict[int, bool] | None = None, history_days: dict[int, int] | None = None) -> Publication:
    t0 = time.perf_counter()
    ids, q = check_frame(frame, as_of, horizon)
    items = analytics.catalog_items()
    known = items.set_index("item_id")
    keep = np.isin(ids, known.index.to_numpy())
    if not keep.all():
        log.warning("publish: %d product(s) no longer exist and are skipped", int((~keep).sum()))
        ids, q = ids[keep], q[keep]
    if len(ids) == 0:
        raise PublishError("none of the forecast's products exist")
    stock = known.loc[ids, "stock"].to_numpy(float)
    prices = _daily_prices(ids, as_of, horizon, known["price"].astype(float).to_dict())
    pol = policy()
    s = summarise(q[..., 0], q[..., 1], q[..., 2], stock, prices, pol)
    PUBLICATIONS.cleanup_abandoned()
    pub = Publication.objects.create(
        version=version, as_of=as_of, horizon=horizon, n_products=len(ids), n_rows=len(ids) * horizon,
        parameters={"lead_time_days": pol.lead_time_days, "review_days": pol.review_days,
                    "service_level": pol.service_level})
    with PUBLICATIONS.writing(pub):
        _write_rows(pub, ids, q, as_of, horizon)
        _write_summaries(pub, ids, s, stock, as_of, cold_start or {}, history_days or {})
        _swap(pub)
    Publication.objects.filter(pk=pub.pk).update(seconds=time.perf_counter() - t0)
    pub.refresh_from_db()
    log.info("published %d products x %d days (%s) in %.1fs", len(ids), horizon, version.label, pub.seconds)
    PUBLICATIONS.delete_old()
    return pub


def _write_rows(pub, ids, q, as_of, horizon):
    dates = [as_of + timedelta(days=h) for h in range(1, horizon + 1)]
    chunk = chunk_rows()
    per_chunk = max(1, chunk // horizon)
    cols = ["publication_id", "product_id", "date", "p10", "p50", "p90"]
    for a in range(0, len(ids), per_chunk):
        block, pids = q[a:a + per_chunk], ids[a:a + per_chunk]
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _copy_text(Forecast, cols, pd.DataFrame({
                    "publication_id": pub.pk, "product_id": np.repeat(pids, horizon),
                    "date": np.tile([d.isoformat() for d in dates], len(pids)), "p10": block[..., 0].ravel(),
                    "p50": block[..., 1].ravel(), "p90": block[..., 2].ravel()}))
            else:
                bulk_insert(Forecast, cols, ((pub.pk, int(pid), d, float(v[0]), float(v[1]), float(v[2]))
                                             for pid, qq in zip(pids.tolist(), block.tolist())
                                             for d, v in zip(dates, qq)))


def _copy_text(model, columns, frame: pd.DataFrame) -> None:
    """PostgreSQL COPY of a frame of plain numbers and ISO dates, formatted by pandas in one pass (several times
    faster than one Python call per row)."""
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    text = frame[columns].to_csv(sep="\t", header=False, index=False, lineterminator="\n")
    with connection.cursor() as cur, cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        copy.write(text.encode())


def _money(x: float) -> Decimal:
    return Decimal(repr(round(float(x), 2))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _write_summaries(pub, ids, s, stock, as_of, cold_start, history_days):
    def day(k):
        return None if k < 0 else as_of + timedelta(days=int(k) + 1)

    cols = ["publication_id", "product_id", "stock", "units", "units_p10", "units_p90", "revenue", "stockout_date",
            "stockout_date_pessimistic", "days_of_cover", "reorder_qty", "cold_start", "history_days"]
    rows = [(pub.pk, int(pid), int(stock[k]), float(s["units"][k]), float(s["units_p10"][k]),
             float(s["units_p90"][k]), _money(s["revenue"][k]), day(s["stockout_day"][k]),
             day(s["stockout_day_pessimistic"][k]),
             None if np.isnan(s["days_of_cover"][k]) else float(s["days_of_cover"][k]), int(s["reorder_qty"][k]),
             bool(cold_start.get(int(pid), False)), int(history_days.get(int(pid), 0)))
            for k, pid in enumerate(ids.tolist())]
    with transaction.atomic():
        bulk_insert(ProductForecast, cols, rows)


def _swap(pub: Publication) -> None:
    PUBLICATIONS.swap(pub)


def live_publication() -> Publication | None:
    return PUBLICATIONS.live()
