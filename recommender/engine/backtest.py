"""Backtest: tune every model on a validation period, test the chosen configuration over 3 seeds, print Markdown
tables and write JSON. Used by ``python -m recommender.engine backtest`` and benchmarks/recommender/run.py.

    python -m recommender.engine backtest --dataset online_retail \
        --data ../shared/data/online-retail/online_retail_2010-12-01_to_2011-09-30.csv.gz --out benchmarks/out/or.json
    python -m recommender.engine backtest --dataset csv --data DIR_WITH_interactions.csv_AND_items.csv \
        --val-cut 2024-03-01 --test-cut 2024-04-01 --end 2024-05-01
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import pandas as pd
import torch

from . import adapters
from .data import validate_interactions, validate_items
from .errors import RecommenderInputError
from .evaluate import METRIC_KEYS, prepare, tune_and_test
from .search import tune_and_test_hybrid, tune_and_test_tifu, tune_tifu

MIN = 1 / (24 * 60)

DATASETS = {
    "online_retail": dict(mode="user", target=("purchase",), val="2011-08-01", test="2011-09-01", end="2011-10-01",
                          label_days=30.0, pop_days=[7, 30, 90, 0],
                          # the DNN's own validation choices (RESULTS.md), used by the hybrid when --models has no dnn
                          hybrid_dnn={True: {"epochs": 1}, False: {"epochs": 2}}),
    "taobao": dict(mode="user", target=("view", "cart", "purchase"), val="2017-11-26 02:30:00",
                   test="2017-11-26 02:50:00", end="2017-11-26 03:10:12", label_days=20 * MIN,
                   pop_days=[10 * MIN, 30 * MIN, 0], max_users=3000),
    "diginetica": dict(mode="session", target=("view",), val="2016-05-18", test="2016-05-25", end="2016-06-02",
                       label_days=7.0, pop_days=[1, 7, 30, 0]),
    "csv": dict(mode="user", target=("purchase",), val=None, test=None, end=None, label_days=14.0,
                pop_days=[7, 30, 0]),
    "demo": dict(mode="user", target=("purchase",), val=None, test=None, end=None, label_days=14.0,
                 pop_days=[7, 30, 0]),
}


def grids(ds: dict, quick: bool, dnn_epochs: int, n_items: int, dnn_repeat=(True, False)) -> dict:
    """Validation grids. Models trained by epochs are also tuned on the epoch count (evaluated every epoch or two
    on validation). Kept small on purpose: the benchmark machine is 2 shared CPU cores."""
    g = {
        "popularity": [{"days": d} for d in ds["pop_days"]],
        "itemknn": [{"neighbours": k} for k in (20, 100, 500)],
        "bpr": [{"dim": 64, "epochs": 10 if not quick else 2, "lr": 0.01, "reg": 1e-5}],
        "adaboost": [{"n_estimators": n, "depth": 2, "label_days": ds["label_days"]} for n in (50, 150)],
        "gru": [{"dim": 64, "epochs": 6 if not quick else 2, "lr": 3e-3, "n_negatives": 512}],
        "dnn": [{"epochs": dnn_epochs if not quick else 2, "n_negatives": 1024, "history_len": 100,
                 "history_half_life_days": 365.0, "repeat": rep} for rep in dnn_repeat],
        "tifu": [],  # coordinate ascent, search.tune_tifu
        "hybrid": [],  # coordinate ascent over the re-ranker, search.tune_hybrid
    }
    if quick:
        g = {k: v[:1] for k, v in g.items()}
    return g


EVAL_EVERY = {"dnn": 1, "gru": 2, "bpr": 2}


def load(name: str, path: str):
    if name in ("demo", "csv"):
        from .data import read_interactions, read_items

        inter = read_interactions(os.path.join(path, "interactions.csv"))
        items = read_items(os.path.join(path, "items.csv"))
        return validate_interactions(inter), validate_items(items)
    inter, items = adapters.ADAPTERS[name](path)
    return validate_interactions(inter), validate_items(items)


def md_table(rows: list, title: str) -> str:
    keys = METRIC_KEYS
    out = [f"#### {title}", "", "| model | chosen on validation | val NDCG@10 | " + " | ".join(keys) + " | fit s |",
           "|---|---|---|" + "---|" * len(keys) + "---|"]
    for r in rows:
        params = describe(r["model"], r["params"])
        cells = [("–" if k not in r else f"{r[k]:.4f} ± {r[k + '_sd']:.4f}" if r["n_seeds"] > 1 else f"{r[k]:.4f}")
                 for k in keys]
        out.append(f"| {r['model']} | {params} | {r['val_NDCG@10']:.4f} | " + " | ".join(cells) + f" | {r['fit_s']:.0f} |")
    return "\n".join(out)


HIDDEN_PARAMS = ("n_negatives", "batch_size", "label_days", "depth", "history_len", "history_half_life_days", "dim",
                 "lr", "basket_gap_hours")
RANKER_TUNED = ("windows", "num_leaves", "n_estimators", "min_child_samples")


def describe(model: str, params: dict) -> str:
    """The 'chosen on validation' cell of a results table."""
    if model == "hybrid":
        rk = ", ".join(f"{k}={params['ranker'][k]}" for k in RANKER_TUNED if k in params["ranker"])
        dnn = ", ".join(f"{k}={v}" for k, v in params["dnn"].items() if k not in HIDDEN_PARAMS)
        return f"re-ranker {rk}; DNN {dnn}; TIFU-KNN as its row"
    return ", ".join(f"{k}={v}" for k, v in params.items() if k not in HIDDEN_PARAMS)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    ap.add_argument("--data", required=True)
    ap.add_argument("--models", default="popularity,itemknn,bpr,adaboost,gru,dnn,tifu,hybrid")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--dnn-epochs", type=int, default=3)
    ap.add_argument("--val-cut")
    ap.add_argument("--test-cut")
    ap.add_argument("--end")
    ap.add_argument("--dnn-repeat-train", default="true,false",
                    help="DNN training modes to try on validation: true (learn repeats too), false (next new item)")
    ap.add_argument("--since", help="drop events before this date (bounds the training cost on long logs)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1 is ~10x faster than 2 on a shared, busy 2-core machine)")
    ap.add_argument("--quick", action="store_true", help="one small configuration per model (smoke test)")
    ap.add_argument("--out", help="JSON results file")
    ap.add_argument("--target-events", help="comma-separated events that count as targets (default per dataset)")
    ap.add_argument("--hybrid-dnn", help="JSON {\"true\": {DNN config}, \"false\": {...}}: the DNN inside the hybrid "
                    "per repeat setting (default: the dnn rows of this run, else the data set's validation choice)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    add_arguments(ap)
    run(ap.parse_args(argv))


def run(a) -> list:
    torch.set_num_threads(a.threads)
    ds = dict(DATASETS[a.dataset])
    for k, attr in (("val", "val_cut"), ("test", "test_cut"), ("end", "end")):
        if getattr(a, attr):
            ds[k] = getattr(a, attr)
    if a.target_events:
        ds["target"] = tuple(a.target_events.split(","))
    t0 = time.time()
    inter, items = load(a.dataset, a.data)
    if a.since:
        inter = inter[inter["timestamp"] >= pd.Timestamp(a.since)].reset_index(drop=True)
    if a.dataset in ("demo", "csv") and not ds["test"]:
        t_min, t_max = inter["timestamp"].min(), inter["timestamp"].max()
        span = t_max - t_min
        ds["val"] = str((t_min + span * 0.7).floor("D"))
        ds["test"] = str((t_min + span * 0.85).floor("D"))
        ds["end"] = str(t_max + pd.Timedelta(seconds=1))
    print(f"# {a.dataset}: {len(inter)} events, {inter['user_id'].nunique()} users, {inter['item_id'].nunique()} "
          f"items; validation [{ds['val']}, {ds['test']}), test [{ds['test']}, {ds['end']}) ({time.time() - t0:.0f}s)",
          flush=True)
    kw = dict(mode=ds["mode"], target_events=ds["target"], max_users=ds.get("max_users"))
    val = prepare(inter, items, ds["val"], ds["test"], **kw)
    test = prepare(inter, items, ds["test"], ds["end"], **kw)
    print("validation:", val.info, "\ntest:", test.info, flush=True)
    models = a.models.split(",")
    unknown = sorted(set(models) - set(grids(ds, False, 1, 0)))
    if unknown:
        raise RecommenderInputError(f"unknown model(s) {unknown} in --models")
    if ds["mode"] == "session" and "adaboost" in models:
        print("AdaBoost baseline needs known users (user features): skipped in session mode", flush=True)
        models.remove("adaboost")
    modes = tuple(x.strip().lower() == "true" for x in a.dnn_repeat_train.split(","))
    g = grids(ds, a.quick, a.dnn_epochs, test.enc.n_items, modes)
    rows = []
    seeds = tuple(range(a.seeds))
    log = lambda s: print(s, flush=True)  # noqa: E731
    for m in models:
        t1 = time.time()
        if m == "tifu":
            rows += tune_and_test_tifu(val, test, log=log)
        elif m == "hybrid":
            rows += tune_and_test_hybrid(val, test, _hybrid_dnn(a, ds, rows), _chosen_tifu(val, rows, log), seeds,
                                         ranker_start={"label_days": ds["label_days"],
                                                       "label_events": list(ds["target"])}, log=log)
        else:
            rows += tune_and_test(m, g[m], val, test, seeds=seeds, eval_every=EVAL_EVERY.get(m, 1), log=log)
        print(f"{m}: {time.time() - t1:.0f}s", flush=True)
        if a.out:
            _write(a, ds, val, test, rows)
    for rep in (True, False):
        print()
        print(md_table([r for r in rows if r["repeat"] == rep],
                       f"{a.dataset}, repeat {'allowed (re-purchases count)' if rep else 'excluded (new items only)'}"))
    _write(a, ds, val, test, rows)
    print(f"\ntotal {time.time() - t0:.0f}s")
    return rows


def _hybrid_dnn(a, ds, rows) -> dict:
    """The DNN inside the hybrid, per repeat setting: --hybrid-dnn, else the dnn rows of this run (chosen on
    validation), else the data set's recorded validation choice, else the DNN grid's first configuration."""
    if a.hybrid_dnn:
        try:
            given = json.loads(a.hybrid_dnn)
        except json.JSONDecodeError as exc:
            raise RecommenderInputError(f"--hybrid-dnn is not valid JSON: {exc}") from None
        return {rep: dict(given.get(str(rep).lower(), {})) for rep in (True, False)}
    out = {}
    for rep in (True, False):
        mine = [r for r in rows if r["model"] == "dnn" and r["repeat"] == rep]
        if mine:
            out[rep] = {k: v for k, v in mine[0]["params"].items() if k != "repeat"}
        else:
            out[rep] = dict(ds.get("hybrid_dnn", {}).get(rep, {"epochs": 1}))
    return out


def _chosen_tifu(val, rows, log) -> dict:
    """TIFU-KNN's validation choice per repeat setting: from the tifu rows of this run, else searched now."""
    out = {}
    for rep in (True, False):
        mine = [r for r in rows if r["model"] == "tifu" and r["repeat"] == rep]
        out[rep] = mine[0]["params"] if mine else tune_tifu(val, rep, log=log)[0]
    return out


def _write(a, ds, val, test, rows):
    if not a.out:
        return
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as fh:
        json.dump({"dataset": a.dataset, "split": {k: ds[k] for k in ("val", "test", "end")}, "val": val.info,
                   "test": test.info, "rows": rows, "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores "
                   f"(shared), torch {torch.__version__}, {torch.get_num_threads()} threads",
                   "argv": sys.argv}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
