"""The recommender at a glance: serving model and its gate, live publication, recent runs, the A/B numbers."""
from __future__ import annotations

import json

from recommender import dashboard
from recommender.models import KIND
from registry import services as registry
from registry.commands import StatusCommand


def _pct(e: dict) -> str:
    if e["value"] is None:
        return "-"
    ci = f" [{100 * e['low']:.2f}-{100 * e['high']:.2f}]" if e["low"] is not None else ""
    return f"{100 * e['value']:.2f} %{ci}"


class Command(StatusCommand):
    help = "Show the serving recommender, its gate, the live recommendations, training runs and the A/B results."
    kind = KIND

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--days", type=int, default=None, help="period of the A/B numbers (default "
                                                                    "RECOMMENDER_REPORT_DAYS)")

    def handle(self, *args, **opts):
        failed = registry.fail_stale_runs(KIND)
        status = dashboard.status_json(opts["days"])
        if opts["json"]:
            self.stdout.write(json.dumps({**status, "failed_now": failed}, default=str, indent=2))
            return
        w = self.stdout.write
        self.write_failed(failed)
        serving = status["serving"]
        w(f"Serving model: {serving['label']}, data to {serving['data_end']}; {serving['reason']}" if serving
          else "Serving model: none yet (the slots show popular products).")
        for name, s in ((serving or {}).get("gate") or {}).get("scores", {}).items():
            w(f"  {name:<12} NDCG@10 {s['NDCG@10'] or 0:.4f}  HR@10 {s['HR@10'] or 0:.4f}")
        pub = status["publication"]
        w(f"Live: {pub['customers']} customers, {pub['products']} products by v{pub['version']}, published "
          f"{pub['published_at'][:16]}." if pub else "Live recommendations: none yet.")
        self.write_runs()
        ab = status["ab"]
        w(f"A/B {ab['start']} to {ab['end']} (control share {ab['control_share']:.0%}):")
        for s in ab["slots"]:
            for arm, d in s["arms"].items():
                w(f"  {s['slot']:<8}{arm:<8} visitors {d['visitors']:>6}  impressions {d['impressions']:>7}  "
                  f"clicks {d['clicks']:>6}  CTR {_pct(d['ctr'])}  conversion {_pct(d['conversion'])}")
            lift = s["lift"]["ctr"]
            if lift["value"] is not None:
                w(f"  {'':<16}CTR lift {_pct(lift)}")
