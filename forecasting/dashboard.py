"""What the staff pages show, assembled in a constant number of queries (the admin views stay thin).
Runs in the web process: reads rows, never imports the engine."""
from __future__ import annotations

import csv
from datetime import timedelta

from django.utils import timezone

from registry import dashboard as runs_page
from registry import services as registry
from registry.models import ModelVersion, TrainingRun
from shop import analytics

from . import charts
from .inventory import projected_stock
from .models import Forecast, ProductForecast
from .publish import live_publication
from .results import KIND

HISTORY_DAYS = 120


def product_context(product) -> dict:
    """Chart and table of one product: the last 120 days of sales and the live forecast (if any)."""
    pub = live_publication()
    row = (ProductForecast.objects.filter(publication=pub, product=product).first() if pub else None)
    today = timezone.localdate()
    as_of = pub.as_of if pub else today - timedelta(days=1)
    last = as_of + timedelta(days=pub.horizon if pub else 0)
    days = analytics.daily_product_stats(as_of - timedelta(days=HISTORY_DAYS - 1), max(last, as_of), [product.pk])
    hist = days[days["date"] <= as_of]
    promo = set(days.loc[days["promo"] > 0, "date"])
    rows = list(Forecast.objects.filter(publication=pub, product=product).order_by("date")) if row else []
    stock = projected_stock([r.p50 for r in rows], row.stock).tolist() if row else []
    table = [{"date": r.date, "p10": r.p10, "p50": r.p50, "p90": r.p90, "stock": s, "promo": r.date in promo}
             for r, s in zip(rows, stock)]
    svg = charts.render(charts.ChartData(
        history_dates=list(hist["date"]), history_units=[float(u) for u in hist["units"]],
        forecast_dates=[r.date for r in rows], p10=[r.p10 for r in rows], p50=[r.p50 for r in rows],
        p90=[r.p90 for r in rows], stock=stock, stock_now=row.stock if row else None, promo_dates=promo,
        stockout_date=row.stockout_date if row else None,
        stockout_date_pessimistic=row.stockout_date_pessimistic if row else None,
        title=f"{product.name}: last {HISTORY_DAYS} days of sales and the {pub.horizon if pub else 45}-day forecast"))
    return {"product": product, "publication": pub, "summary": row, "table": table, "chart": svg,
            "history_units": int(hist["units"].sum()), "history_days": len(hist)}


def models_context() -> dict:
    overview = runs_page.models_overview(KIND, run_prefetch=["versions"])
    return {**overview, "gate": gate_rows(overview["serving"]), "publication": live_publication()}


def gate_rows(version: ModelVersion | None) -> list[dict]:
    """The promotion gate's backtest of a version, one row per model scored (candidate first)."""
    if version is None:
        return []
    scores = (version.metrics or {}).get("gate", {}).get("scores", {})
    names = {"candidate": f"{version.label} (this model)", "serving": "model serving before",
             "snaive": "seasonal naive (lag 7)", "ma28": "moving average (28 days)"}
    return [{"name": names.get(k, k), "key": k, **v} for k, v in scores.items()]


def run_json(run: TrainingRun | None) -> dict | None:
    data = runs_page.run_json(run)
    if data is None:
        return None
    version = next(iter(run.versions.all()), None) if run.pk else None
    return {**data, "val_loss": runs_page.last_epoch(run).get("val_loss"),
            "version": None if version is None else {"id": version.pk, "status": version.status,
                                                     "reason": version.reason}}


def status_json() -> dict:
    runs = runs_page.runs_status(KIND, run_json, run_prefetch=["versions"])
    serving = registry.serving_version(KIND)
    pub = live_publication()
    return {**runs,
            "serving": None if serving is None else {"id": serving.pk, "label": serving.label,
                                                     "data_end": serving.data_end},
            "publication": None if pub is None else {"id": pub.pk, "as_of": pub.as_of,
                                                     "version": pub.version_id, "products": pub.n_products}}


CSV_COLUMNS = ["sku", "name", "category", "stock", "units_p10", "units", "units_p90", "revenue", "stockout_date",
               "stockout_date_pessimistic", "days_of_cover", "reorder_qty", "cold_start", "model_version",
               "forecast_from", "forecast_to"]


def _cell(value):
    """Spreadsheet-safe text: a leading = + - @ would be read as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(rows):
    """Yield CSV lines of ProductForecast rows (with product, category and publication selected)."""
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    yield writer.writerow(CSV_COLUMNS)
    for r in rows:
        pub = r.publication
        yield writer.writerow([_cell(v) for v in (
            r.product.sku, r.product.name, str(r.product.category), r.stock, f"{r.units_p10:.2f}", f"{r.units:.2f}",
            f"{r.units_p90:.2f}", r.revenue, r.stockout_date, r.stockout_date_pessimistic,
            "" if r.days_of_cover is None else f"{r.days_of_cover:.1f}", r.reorder_qty, int(r.cold_start),
            pub.version_id, pub.as_of + timedelta(days=1), pub.as_of + timedelta(days=pub.horizon))])

