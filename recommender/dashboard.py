"""What the staff dashboard shows, assembled for the admin views (which stay thin). Runs in the web process:
reads rows and the shop's analytics, never imports the engine."""
from __future__ import annotations

from django.core.cache import cache

from registry import dashboard as runs_page
from registry import services as registry
from registry.models import ModelVersion

from . import report
from .experiment import ARMS, CONTROL, MODEL
from .models import KIND
from .publish import live_publication

SLOT_NAMES = {"home": "Home: Recommended for you", "product": "Product page: Customers also bought",
              "cart": "Cart: You may also like", report.ALL: "All slots"}
GATE_NAMES = {"candidate": "this model", "serving": "model serving before", "popularity": "recent popularity",
              "itemknn": "item-kNN (co-occurrence)", "tifu": "TIFU-KNN (repeat-aware)"}
CACHE_SECONDS = 60


def _pct(e, digits=2) -> str:
    return "-" if e.value is None else f"{100 * e.value:.{digits}f} %"


def _interval(e, fmt) -> str:
    if e.low is None or e.high is None:
        return ""
    return f"[{fmt(e.low)} to {fmt(e.high)}]"


def _fmt_metric(name: str, e) -> dict:
    if name == "revenue_per_visitor":
        f = lambda v: f"{v:,.2f}"  # noqa: E731
        return {"value": "-" if e.value is None else f(e.value), "interval": _interval(e, f)}
    f = lambda v: f"{100 * v:.2f} %"  # noqa: E731
    return {"value": _pct(e), "interval": _interval(e, f)}


def _fmt_lift(e) -> dict:
    f = lambda v: f"{100 * v:+.1f} %"  # noqa: E731
    return {"value": "-" if e.value is None else f(e.value), "interval": _interval(e, f),
            "significant": e.low is not None and (e.low > 0 or e.high < 0)}


def ab_report(days: int | None = None, fresh: bool = False) -> dict:
    """The A/B report (cached for a minute per period: it reads a few weeks of events)."""
    period = report.Period.last(days)
    key = f"recommender:report:{period.start}:{period.end}"
    data = None if fresh else cache.get(key)
    if data is None:
        data = report.build(period)
        cache.set(key, data, CACHE_SECONDS)
    return data


def ab_rows(data: dict) -> list[dict]:
    """Display rows: per slot, one row per arm and one for the lift."""
    out = []
    for s in data["slots"]:
        arms = []
        for a in ARMS:
            d = s["arms"][a]
            arms.append({"arm": a, "label": "model" if a == MODEL else "control (popular)", **{
                k: d[k] for k in ("visitors", "impressions", "clicks", "add_to_carts", "purchases", "buyers",
                                  "revenue")}, "metrics": [_fmt_metric(m, d["estimates"][m]) for m, _ in report.METRICS]})
        out.append({"slot": s["slot"], "name": SLOT_NAMES.get(s["slot"], s["slot"]), "arms": arms,
                    "lift": [_fmt_lift(s["lift"][m]) for m, _ in report.METRICS]})
    return out


def gate_rows(version: ModelVersion | None) -> list[dict]:
    if version is None:
        return []
    scores = (version.metrics or {}).get("gate", {}).get("scores", {})
    rows = []
    for key, s in scores.items():
        name = GATE_NAMES.get(key, key)
        if key == "serving" and s.get("version"):
            name = f"v{s['version']} (serving before)"
        if key == "candidate":
            name = f"{version.label} (this model)"
        rows.append({"key": key, "name": name, "ndcg": s.get("NDCG@10"), "hr": s.get("HR@10"),
                     "coverage": s.get("coverage")})
    return rows


def models_context() -> dict:
    overview = runs_page.models_overview(KIND)
    serving = overview["serving"]
    return {**overview, "gate": gate_rows(serving),
            "gate_info": (serving.metrics or {}).get("gate", {}) if serving else {},
            "versions": [dict(v=v, gate=gate_rows(v)) for v in overview["versions"]],
            "publication": live_publication()}


def status_json(days: int | None = None) -> dict:
    runs = runs_page.runs_status(KIND)
    serving = registry.serving_version(KIND)
    pub = live_publication()
    return {
        **runs,
        "serving": None if serving is None else {"id": serving.pk, "label": serving.label,
                                                 "data_end": str(serving.data_end), "reason": serving.reason,
                                                 "gate": (serving.metrics or {}).get("gate")},
        "publication": None if pub is None else {"id": pub.pk, "version": pub.version_id,
                                                 "customers": pub.n_customers, "products": pub.n_products,
                                                 "published_at": pub.published_at.isoformat()},
        "ab": report.as_json(ab_report(days)),
    }


__all__ = ["ab_report", "ab_rows", "gate_rows", "models_context", "status_json", "CONTROL", "MODEL"]
