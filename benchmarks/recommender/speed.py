"""Speed of the recommender (the DNN alone, or the served hybrid with --model hybrid): training time, batch
recommendations for 10,000 users, live latency.

    nice python benchmarks/recommender/speed.py \
        --data ../shared/data/online-retail/online_retail_2010-12-01_to_2011-09-30.csv.gz --train-until 2011-08-31
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from recommender.engine import adapters, api  # noqa: E402
from recommender.engine.data import cut, validate_interactions  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--dataset", default="online_retail", choices=sorted(adapters.ADAPTERS))
    ap.add_argument("--train-until", default="2011-08-31")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default="dnn", choices=["dnn", "hybrid"])
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    inter, items = adapters.ADAPTERS[a.dataset](a.data)
    train = cut(validate_interactions(inter), a.train_until)
    t0 = time.time()
    art = api.fit(train, items, {"epochs": a.epochs, "model": a.model, "threads": a.threads}, verbose=False)
    fit_s = time.time() - t0
    blob = art.to_bytes()
    users = [art.user_ids[1 + k % (len(art.user_ids) - 1)] for k in range(a.users)]
    t0 = time.time()
    rec = api.recommend(art, users, k=10)
    batch_s = time.time() - t0
    rng = np.random.default_rng(0)
    cat = [x for j, x in enumerate(art.item_ids) if art.catalog[j]]
    lat = []
    for _ in range(200):
        hist = list(rng.choice(cat, 10, replace=False))
        t0 = time.perf_counter()
        api.recommend_for_history(art, hist, 10)
        lat.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    again = api.Artifact.from_bytes(blob)
    load_s = time.perf_counter() - t0
    one = []
    for u in users[:200]:
        t0 = time.perf_counter()
        api.recommend(again, [u], k=10)
        one.append(time.perf_counter() - t0)
    res = {
        "train_events": len(train), "users": len(art.user_ids) - 1, "items": len(art.item_ids) - 1,
        "model": a.model, "epochs": a.epochs, "fit_s": round(fit_s, 1),
        "fit_s_per_epoch": round(fit_s / a.epochs, 1) if a.model == "dnn" else None,
        "recommend_10000_users_s": round(batch_s, 2), "rows": len(rec),
        "live_history_top10_ms_median": round(1000 * float(np.median(lat)), 2),
        "live_history_top10_ms_p95": round(1000 * float(np.percentile(lat, 95)), 2),
        "known_user_top10_ms_median": round(1000 * float(np.median(one)), 2),
        "artifact_mb": round(len(blob) / 2**20, 1), "artifact_load_s": round(load_s, 2),
        "threads": torch.get_num_threads(), "device": api.device_in_use(),
    }
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
