"""The forecaster at a glance: serving model and its gate, the running run, recent runs, the live forecast."""
from __future__ import annotations

import json

from forecasting import dashboard
from forecasting.publish import live_publication
from forecasting.results import KIND
from registry import services as registry
from registry.commands import StatusCommand


class Command(StatusCommand):
    help = "Show the serving forecast model, training runs and the live forecast (fails runs whose worker died)."
    kind = KIND

    def handle(self, *args, **opts):
        failed = registry.fail_stale_runs(KIND)
        if opts["json"]:
            self.stdout.write(json.dumps({**dashboard.status_json(), "failed_now": failed}, default=str, indent=2))
            return
        w = self.stdout.write
        self.write_failed(failed)
        serving = registry.serving_version(KIND)
        if serving is None:
            w("Serving model: none yet.")
        else:
            w(f"Serving model: {serving.label}, data {serving.data_start} to {serving.data_end}, {serving.device}, "
              f"{serving.duration_seconds or 0:.0f} s; {serving.reason}")
            for row in dashboard.gate_rows(serving):
                w(f"  {row['name']:<28} WAPE {row.get('WAPE') or float('nan'):.3f}  MAE {row.get('MAE') or float('nan'):.3f}")
        pub = live_publication()
        w(f"Live forecast: {pub.n_products} products, {pub.first_day} to {pub.last_day}, by {pub.version.label}, "
          f"published {pub.published_at:%Y-%m-%d %H:%M}." if pub else "Live forecast: none yet.")
        self.write_runs()
