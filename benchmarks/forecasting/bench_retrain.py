"""Retraining the demo shop's forecaster on CPU: time per stage (wall and CPU), the gate's backtest, and what the
CPU budget costs in accuracy against a larger configuration.

    # a demo shop in SQLite (300 products x 730 days with photos), once:
    python benchmarks/forecasting/bench_retrain.py --dir /tmp/fc-demo --seed
    # the benchmark (first run: image features are computed; --warm keeps the cache of a previous run):
    nice python benchmarks/forecasting/bench_retrain.py --dir /tmp/fc-demo [--warm] \\
        [--compare '{"epochs": 40, "patience": 6, "max_epoch_windows": null, "stride": 3}']

Runs the same code as a worker (forecasting.services.execute_run: read, train the candidate to yesterday-45, gate,
refit through yesterday, forecast, promote, publish) in this process with the CPU default configuration and
FORECAST_TRAIN_THREADS (default 2) torch threads. "CPU s" is the process's user+system time: on a shared machine the
wall time depends on the other jobs, the CPU time much less.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Stages(logging.Handler):
    """Wall and CPU time at each stage change the run logs ("run #N: <stage>")."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.marks = []

    def emit(self, record):
        msg = record.getMessage()
        if record.name == "registry.services" and msg.startswith("run #"):
            self.marks.append((msg.split(": ", 1)[1], time.perf_counter(), cpu_seconds()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="folder of the benchmark shop (SQLite database, media, caches)")
    ap.add_argument("--seed", action="store_true", help="create the demo shop there (if empty) and stop")
    ap.add_argument("--warm", action="store_true", help="keep the image feature cache of an earlier run")
    ap.add_argument("--compare", default=None, help="JSON engine options of a larger configuration to compare")
    ap.add_argument("--config", default="{}", help="JSON engine options for the run itself (default: CPU default)")
    args = ap.parse_args()
    d = Path(args.dir).resolve()
    d.mkdir(parents=True, exist_ok=True)
    os.environ.update(DATABASE_URL=f"sqlite:///{d / 'db.sqlite3'}", MEDIA_ROOT=str(d / "media"), SHOP_VAR_DIR=str(d),
                      ML_CACHE_DIR=str(d / "ml-cache"), CELERY_TASK_ALWAYS_EAGER="true", SHOP_EVENT_LOG="off",
                      LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="config.settings")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    if args.seed:
        call_command("migrate", verbosity=0)
        call_command("seed_demo", if_empty=True)
        return
    from django.conf import settings

    from forecasting import services
    from forecasting.models import Publication
    from registry import services as registry
    from registry.models import ModelVersion, TrainingRun

    if not args.warm:
        shutil.rmtree(Path(settings.ML_CACHE_DIR) / "image-features", ignore_errors=True)
    for run in TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE):
        registry.fail_run(run, "benchmark start")
    stages = Stages()
    logging.getLogger("registry.services").addHandler(stages)
    logging.getLogger("registry.services").setLevel(logging.INFO)
    run = registry.start_run("forecast", trigger=TrainingRun.Trigger.COMMAND, config=json.loads(args.config))
    t0, c0 = time.perf_counter(), cpu_seconds()
    outcome = services.execute_run(run.pk)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    run.refresh_from_db()
    print(f"outcome: {outcome}")
    print(f"threads: {settings.FORECAST_TRAIN_THREADS}, load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<60} {'wall s':>8} {'CPU s':>8}")
    marks = stages.marks + [("end", t0 + wall, c0 + cpu)]
    for (name, t, c), (_, t2, c2) in zip(marks, marks[1:]):
        print(f"{name[:60]:<60} {t2 - t:8.1f} {c2 - c:8.1f}")
    print(f"{'total':<60} {wall:8.1f} {cpu:8.1f}")
    version = ModelVersion.objects.filter(run=run).first()
    if version is not None:
        gate = version.metrics["gate"]
        print(f"\ngate: {gate['start']} to {gate['end']}, {gate['items']} products, {gate['units']:.0f} units")
        for name, sc in gate["scores"].items():
            print(f"  {name:<10} WAPE {sc['WAPE']:.3f}  MAE {sc['MAE']:.3f}  bias {sc['bias']:+.3f}  "
                  f"WAPE_total {sc.get('WAPE_total') or float('nan'):.3f}")
        print(f"  candidate training: {version.metrics.get('candidate_training')}")
    pub = Publication.objects.filter(status="live").first()
    if pub:
        print(f"live forecast: {pub.n_products} products by {pub.version.label}, written in {pub.seconds:.1f}s")
    if args.compare:
        from datetime import timedelta

        from django.utils import timezone

        as_of = timezone.localdate() - timedelta(days=1)
        cutoff = as_of - timedelta(days=45)
        sales, items, _ = services._frames(as_of - timedelta(days=settings.FORECAST_HISTORY_DAYS - 1), as_of)
        over = {**json.loads(args.config), **json.loads(args.compare)}
        cfg = services.run_config("cpu", over)
        t, c = time.perf_counter(), cpu_seconds()
        art = services._fit(sales, items, cfg, cutoff, None)
        g = services.run_gate(art, None, sales, items, cutoff, as_of)["scores"]["candidate"]
        base = version.metrics["gate"]["scores"]["candidate"] if version is not None else {}
        print(f"compare: CPU default gate WAPE {base.get('WAPE', float('nan')):.3f} bias "
              f"{base.get('bias', float('nan')):+.3f} WAPE_total {base.get('WAPE_total', float('nan')):.3f}; larger "
              f"{over} gate WAPE {g['WAPE']:.3f} bias {g['bias']:+.3f} WAPE_total {g['WAPE_total']:.3f} (candidate "
              f"fit {time.perf_counter() - t:.0f}s wall, {cpu_seconds() - c:.0f}s CPU, {art.metrics['epochs_run']} "
              f"epochs, best {art.metrics['best_epoch']})")

if __name__ == "__main__":
    main()
