"""The A/B numbers of the dashboard: per slot and arm, impressions, click-through, add-to-carts, conversion and
revenue per visitor, each with a 95 % interval, and the model arm's lift over the control arm.

Definitions (``RECOMMENDER_REPORT_DAYS``, default the last 28 days, shop time):

- **visitors**: distinct visitors (``vid`` cookie) shown the slot at least once in that arm;
- **impressions**: times the slot was shown (one per page view that rendered it);
- **clicks**: product views reached through a link of the slot (the link's label names slot, arm and version);
- **attribution**: an add-to-cart or a purchased order line of product P by visitor V is credited to V's latest
  click on P in a recommendation within the ``RECOMMENDER_ATTRIBUTION_MINUTES`` (default 60) before it -- the
  visit -- and to that click's slot and arm only (last click wins; nothing is counted twice);
- **CTR** = clicks / impressions; **add-to-cart rate** = attributed add-to-carts / impressions;
- **conversion** = share of the visitors with at least one attributed purchase;
- **revenue per visitor** = attributed revenue (unit price x quantity of the attributed order lines; cancelled
  orders excluded) / visitors;
- **lift** = model / control - 1 of each of these, with its interval (``stats.py``).

Reads the shop's data only through ``shop.analytics``: impressions aggregated per visitor in SQL, then only the
clicks and the add-to-carts and purchases of the visitors who clicked, so the cost grows with clicks, not with page
views. Runs in the web process (no engine).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.utils import timezone

from shop import analytics

from . import stats
from .experiment import ARMS, CONTROL, MODEL, SLOTS, SOURCE, parse_ref

METRICS = [("ctr", "CTR"), ("add_to_cart_rate", "Add-to-cart rate"), ("conversion", "Conversion"),
           ("revenue_per_visitor", "Revenue per visitor")]
ALL = "all"


@dataclass
class Period:
    start: date
    end: date

    @classmethod
    def last(cls, days: int | None = None, end: date | None = None) -> "Period":
        end = end or timezone.localdate()
        days = max(1, days or settings.RECOMMENDER_REPORT_DAYS)
        return cls(end - timedelta(days=days - 1), end)


def _split_refs(frame: pd.DataFrame) -> pd.DataFrame:
    refs = frame["ref"].map(parse_ref)
    keep = refs.notna().to_numpy()
    frame = frame[keep].copy()
    frame["slot"] = [r.slot for r in refs[keep]]
    frame["arm"] = [r.arm for r in refs[keep]]
    frame["version"] = [r.version for r in refs[keep]]
    return frame


def attribute(clicks: pd.DataFrame, outcomes: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """Each outcome (add-to-cart, order line) joined to the visitor's latest click on that product within
    ``minutes`` before it; outcomes without such a click are dropped. Columns of the outcome plus slot, arm."""
    cols = ["visitor", "product_id", "event", "quantity", "revenue", "slot", "arm"]
    if clicks.empty or outcomes.empty:
        return pd.DataFrame(columns=cols)
    c = clicks[["at", "visitor", "product_id", "slot", "arm"]].copy()
    o = outcomes.copy()
    for df in (c, o):
        df["product_id"] = df["product_id"].astype(np.int64)
        df["visitor"] = df["visitor"].astype(str)
    c = c.sort_values("at", kind="stable")
    o = o.sort_values("at", kind="stable")
    joined = pd.merge_asof(o, c.rename(columns={"at": "clicked_at"}), left_on="at", right_on="clicked_at",
                           by=["visitor", "product_id"], direction="backward",
                           tolerance=pd.Timedelta(minutes=minutes))
    return joined[joined["slot"].notna()][cols].reset_index(drop=True)


def _per_visitor(imps: pd.DataFrame, clicks: pd.DataFrame, credited: pd.DataFrame) -> pd.DataFrame:
    """One row per (slot, arm, visitor): impressions, clicks, add_to_carts, purchases, revenue."""
    keys = ["slot", "arm", "visitor"]
    parts = [imps.groupby(keys)["impressions"].sum(),
             clicks.groupby(keys).size().rename("clicks")]
    carts = credited[credited["event"] == "cart"]
    buys = credited[credited["event"] == "purchase"]
    parts += [carts.groupby(keys).size().rename("add_to_carts"), buys.groupby(keys).size().rename("purchases"),
              buys.groupby(keys)["revenue"].sum().rename("revenue")]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=keys + ["impressions", "clicks", "add_to_carts", "purchases", "revenue"])
    out = pd.concat(parts, axis=1).fillna(0).reset_index()
    for col in ("impressions", "clicks", "add_to_carts", "purchases", "revenue"):
        if col not in out.columns:
            out[col] = 0
    out = out[out["impressions"] > 0]  # visitors shown the slot in the period (a click on an older one: not counted)
    return out


def _arm(rows: pd.DataFrame) -> dict:
    n = len(rows)
    imp, clk = rows["impressions"].to_numpy(float), rows["clicks"].to_numpy(float)
    atc, rev = rows["add_to_carts"].to_numpy(float), rows["revenue"].to_numpy(float)
    buyers = int((rows["purchases"] > 0).sum())
    est = {"ctr": stats.ratio(clk, imp), "add_to_cart_rate": stats.ratio(atc, imp),
           "conversion": stats.proportion(buyers, n), "revenue_per_visitor": stats.mean(rev)}
    return {"visitors": n, "impressions": int(imp.sum()), "clicks": int(clk.sum()), "add_to_carts": int(atc.sum()),
            "purchases": int(rows["purchases"].sum()), "buyers": buyers, "revenue": round(float(rev.sum()), 2),
            "estimates": est}


def build(period: Period | None = None, minutes: int | None = None) -> dict:
    period = period or Period.last()
    minutes = settings.RECOMMENDER_ATTRIBUTION_MINUTES if minutes is None else minutes
    imps = _split_refs(analytics.link_impressions(period.start, period.end, SOURCE))
    clicks = _split_refs(analytics.link_clicks(period.start, period.end, SOURCE))
    after = period.end + timedelta(days=1) if minutes else period.end  # a click late on the last day
    outcomes = analytics.visitor_outcomes(clicks["visitor"].unique().tolist(), period.start, after) \
        if len(clicks) else pd.DataFrame(columns=analytics.OUTCOME_COLUMNS)
    credited = attribute(clicks, outcomes, minutes)
    per = _per_visitor(imps, clicks, credited)
    # every slot together: a visitor's sums over the slots they were shown
    together = per.groupby(["arm", "visitor"], as_index=False)[
        ["impressions", "clicks", "add_to_carts", "purchases", "revenue"]].sum().assign(slot=ALL)
    per = pd.concat([per, together], ignore_index=True)
    rows = []
    for slot in (*SLOTS, ALL):
        arms = {a: _arm(per[(per["slot"] == slot) & (per["arm"] == a)]) for a in ARMS}
        lift = {m: stats.lift(arms[MODEL]["estimates"][m], arms[CONTROL]["estimates"][m]) for m, _ in METRICS}
        rows.append({"slot": slot, "arms": arms, "lift": lift})
    return {"start": period.start, "end": period.end, "attribution_minutes": minutes,
            "control_share": settings.RECOMMENDER_CONTROL_SHARE, "experiment": settings.RECOMMENDER_EXPERIMENT,
            "slots": rows, "versions": sorted({int(v) for v in imps.get("version", []) if v})}


def as_json(report: dict) -> dict:
    """The report with plain numbers (for status.json and the command line)."""
    def arm(a):
        return {**{k: v for k, v in a.items() if k != "estimates"},
                **{m: a["estimates"][m].as_dict() for m, _ in METRICS}}

    return {**{k: (str(v) if isinstance(v, date) else v) for k, v in report.items() if k != "slots"},
            "slots": [{"slot": s["slot"], "arms": {a: arm(s["arms"][a]) for a in ARMS},
                       "lift": {m: s["lift"][m].as_dict() for m, _ in METRICS}} for s in report["slots"]]}
