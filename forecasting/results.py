"""The read side of the forecasts, for the dashboard and the chat assistant. Reads only the live publication, in
a constant number of queries; never imports the engine (this runs in the web process).

    serving_version() -> ModelVersion | None
    summary(product_id) -> ForecastSummary | None
    units_between(product_id, start, end) -> (p10, p50, p90) | None
    reorder_suggestions(limit=10, within_days=7) -> list[ForecastSummary]
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, Sum
from django.utils import timezone

from registry import services as registry
from registry.models import ModelVersion

from .models import Forecast, ProductForecast, Publication

KIND = "forecast"


@dataclass(frozen=True)
class ForecastSummary:
    product_id: int
    sku: str
    name: str
    units: float                     # p50 summed over the horizon (45 days)
    units_p10: float
    units_p90: float
    revenue: Decimal                 # p50 units x each day's selling price
    stockout_date: date | None       # stock runs out against cumulative p50 (None: lasts beyond the horizon)
    stockout_date_pessimistic: date | None   # against cumulative p90
    days_of_cover: float | None      # stock / mean daily p50 (None: no demand forecast)
    reorder_qty: int
    cold_start: bool                 # little or no history: forecast from photo, text and category
    version_id: int
    published_at: datetime
    stock: int = 0                   # stock when the forecast was published
    first_day: date | None = None    # first forecast day (the day after the last day of data)
    last_day: date | None = None


def serving_version() -> ModelVersion | None:
    return registry.serving_version(KIND)


def _live():
    return ProductForecast.objects.filter(publication__status=Publication.Status.LIVE).select_related(
        "product", "publication")


def _to_summary(row: ProductForecast) -> ForecastSummary:
    pub = row.publication
    return ForecastSummary(
        product_id=row.product_id, sku=row.product.sku, name=row.product.name, units=row.units,
        units_p10=row.units_p10, units_p90=row.units_p90, revenue=row.revenue, stockout_date=row.stockout_date,
        stockout_date_pessimistic=row.stockout_date_pessimistic, days_of_cover=row.days_of_cover,
        reorder_qty=row.reorder_qty, cold_start=row.cold_start, version_id=pub.version_id,
        published_at=pub.published_at, stock=row.stock, first_day=pub.as_of + timedelta(days=1),
        last_day=pub.as_of + timedelta(days=pub.horizon))


def summary(product_id: int) -> ForecastSummary | None:
    """The live forecast of one product, in one query; None when it has none."""
    row = _live().filter(product_id=product_id).first()
    return _to_summary(row) if row else None


def units_between(product_id: int, start: date, end: date) -> tuple[float, float, float] | None:
    """Forecast units (p10, p50, p90) summed over the published days in [start, end]; None when no published day
    of that product falls in the range."""
    agg = (Forecast.objects.filter(publication__status=Publication.Status.LIVE, product_id=product_id,
                                   date__gte=start, date__lte=end)
           .aggregate(p10=Sum("p10"), p50=Sum("p50"), p90=Sum("p90")))
    if agg["p50"] is None:
        return None
    return float(agg["p10"]), float(agg["p50"]), float(agg["p90"])


def reorder_suggestions(limit: int = 10, within_days: int = 7) -> list[ForecastSummary]:
    """Products to reorder now: a positive reorder quantity and a stock-out possible within ``within_days`` days
    from today (pessimistic date, cumulative p90). Most urgent first: earliest expected (p50) stock-out, then
    earliest pessimistic one, then the largest quantity."""
    horizon_end = timezone.localdate() + timedelta(days=within_days)
    rows = (_live().filter(reorder_qty__gt=0, stockout_date_pessimistic__lte=horizon_end)
            .order_by(F("stockout_date").asc(nulls_last=True), "stockout_date_pessimistic", "-reorder_qty",
                      "product_id")[:limit])
    return [_to_summary(r) for r in rows]
