#!/usr/bin/env python
"""Training time of the shop's recommender on the demo shop: one real run (read -> candidate -> gate -> refit ->
recommend -> publish) with the settings' defaults, in this process, and the seconds of each phase.

Uses the demo shop of bench_slots.py (database shop_bench_recs; seeded here if missing). The device is the one
the run picks (CUDA when present, else CPU with RECOMMENDER_TRAIN_THREADS threads).

    nice python benchmarks/recommender/bench_train.py
    nice python benchmarks/recommender/bench_train.py --set RECOMMENDER_HISTORY_DAYS=365
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop._common import ROOT, apply_env, bench_env, check_loopback, ensure_database, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop_bench_recs"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_DB)
    p.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE", help="environment for the run")
    args = p.parse_args(argv)
    check_loopback(args.database_url)
    ensure_database(args.database_url)
    env = bench_env(args.database_url, **dict(kv.split("=", 1) for kv in args.set))
    full = {**os.environ, **env}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=full, check=True)
    subprocess.run([sys.executable, "manage.py", "seed_demo", "--if-empty"], cwd=ROOT, env=full, check=True)
    apply_env(env)
    setup_django(migrate=False)
    from django.conf import settings

    from recommender import services
    from recommender.models import KIND
    from registry import services as registry
    from registry.models import ModelVersion, TrainingRun

    registry.fail_stale_runs(KIND)
    run = registry.start_run(KIND, trigger=TrainingRun.Trigger.COMMAND)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    outcome = services.execute_run(run.pk)
    total = time.perf_counter() - t0
    run.refresh_from_db()
    v = ModelVersion.objects.filter(run=run).first()
    print(f"outcome: {outcome}")
    print(f"device {run.device}, torch threads {settings.RECOMMENDER_TRAIN_THREADS}, history "
          f"{settings.RECOMMENDER_HISTORY_DAYS} days, {len(run.losses)} epochs recorded, load average at start "
          f"{load:.1f} on {os.cpu_count()} cores")
    if v is not None:
        gate = v.metrics.get("gate", {})
        print(f"gate: {gate.get('users')} customers, {gate.get('train_events')} training events before the gate; "
              + ", ".join(f"{k} {s['NDCG@10']:.4f}" for k, s in gate.get("scores", {}).items()))
        phases = v.metrics.get("seconds", {})
        order = ["read", "photos", "candidate", "gate", "refit", "store", "recommend", "publish"]
        print("seconds per phase: " + ", ".join(f"{k} {phases[k]:.1f}" for k in sorted(
            phases, key=lambda k: order.index(k) if k in order else len(order))))
    print(f"total {total:.1f} s")


if __name__ == "__main__":
    main()
