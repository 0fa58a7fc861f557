"""Staff questions about the published forecasts, answered from `forecasting.results` (the forecast read side).

The caller checks that the asker is staff. Until a forecast is published (or while the forecasting app is not
installed) every answer is "No forecast is published yet."
"""
from __future__ import annotations

import importlib
import re
from datetime import date, timedelta

from django.utils import timezone

NOT_YET = "No forecast is published yet. Once the forecasting job has published one, ask me again."


def _results():
    try:
        return importlib.import_module("forecasting.results")
    except ImportError:
        return None


def _period(text: str, today: date) -> tuple[date, date, str]:
    t = text.lower()
    if "next week" in t:
        start = today + timedelta(days=7 - today.weekday())
        return start, start + timedelta(days=6), "next week"
    if "this week" in t:
        return today, today + timedelta(days=6 - today.weekday()), "this week"
    if "next month" in t:
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return first, last, f"in {first:%B}"
    m = re.search(r"next (\d{1,2}) days", t)
    days = min(45, int(m.group(1))) if m else 45
    return today + timedelta(days=1), today + timedelta(days=days), f"over the next {days} days"


def answer(intent: str, ents, index, conf: float, text: str = ""):
    from .dialog import Reply

    results = _results()
    if results is None or results.serving_version() is None:
        return Reply(NOT_YET, intent, conf)
    if intent == "forecast_reorder":
        rows = results.reorder_suggestions(limit=10, within_days=7)
        if not rows:
            return Reply("Nothing needs reordering this week according to the published forecast.", intent, conf)
        lines = [f"{r.name} ({r.sku}): reorder {r.reorder_qty}"
                 + (f", runs out around {r.stockout_date:%d %b}" if r.stockout_date else "") for r in rows]
        return Reply("Reorder this week (most urgent first): " + "; ".join(lines) + ".", intent, conf)
    if ents.product is None:
        return Reply("Which product? Tell me its name.", intent, conf)
    item = index.items[ents.product]
    s = results.summary(ents.product)
    if s is None:
        return Reply(f"The published forecast has no figures for the {item.name}.", intent, conf)
    if intent == "forecast_stockout":
        if s.stockout_date is None:
            return Reply(f"The {s.name} should not run out within the forecast's 45 days ({s.days_of_cover} days "
                         "of cover).", intent, conf)
        text_ = f"The {s.name} is expected to run out around {s.stockout_date:%d %B %Y}"
        if s.stockout_date_pessimistic and s.stockout_date_pessimistic != s.stockout_date:
            text_ += f" (as early as {s.stockout_date_pessimistic:%d %B} if demand runs high)"
        return Reply(text_ + f". Suggested reorder: {s.reorder_qty} units.", intent, conf)
    start, end, label = _period(text, timezone.localdate())
    units = results.units_between(ents.product, start, end)
    if units is None:
        return Reply(f"The published forecast does not cover {label} for the {s.name}.", intent, conf)
    p10, p50, p90 = units
    return Reply(f"We expect to sell about {p50:.0f} {s.name} {label} (likely between {p10:.0f} and {p90:.0f}).",
                 intent, conf)
