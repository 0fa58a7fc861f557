"""Forecasting benchmarks. Every experiment appends JSON rows to --out after each model, so a run that is
stopped keeps what it measured. Tables are built by ``tables.py``.

    python benchmarks/forecasting/bench.py retail --data ../shared/data/online-retail/online_retail_2010-12-01_to_2011-09-30.csv.gz
    python benchmarks/forecasting/bench.py coldstart --data <same file>
    python benchmarks/forecasting/bench.py m5 --data ../shared/data/m5-subset
    python benchmarks/forecasting/bench.py demo --data DIR   # DIR from: python -m shop.demo.export --out DIR
    python benchmarks/forecasting/bench.py ablation --data DIR   # image+text / text only / neither, pretrained backbone
    python benchmarks/forecasting/bench.py speed --data <online retail file>

CPU budget settings (documented in RESULTS.md): the neural models use BENCH_CONFIG below instead of the paper's
batch 32 / 100 epochs / patience 10, which would take hours per fit on the 2 shared CPU cores.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from forecasting.engine import adapters, api  # noqa: E402
from forecasting.engine.backtest import BASELINES, run_origin  # noqa: E402

BENCH_CONFIG = {"batch_size": 128, "epochs": 10, "patience": 3, "stride": 7, "val_stride": 7, "num_threads": 1,
                "max_epoch_windows": 3000, "progress_bar": False}
PLAIN = {"use_image": False, "use_text": False}


def _append(out, rows):
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps(old + rows, indent=1, default=float))


def _epoch_log(epoch, m):
    print(f"  epoch {epoch}/{m['epochs']} train {m['train_loss']:.4f} val {m['val_loss']:.4f} "
          f"({m['windows_per_s']:.0f} windows/s)", flush=True)


def _done(out):
    p = Path(out)
    if not p.exists():
        return set()
    return {(r["model"], r["origin"], r["seed"]) for r in json.loads(p.read_text()) if "model" in r}


def _run(sales, items, origins, models, seeds, out, base=None, jobs=None, **kw):
    """Run jobs in priority order (default: every model with the first seed on all origins first, then further
    seeds). Jobs already in --out are skipped (so an interrupted run resumes)."""
    base = dict(BENCH_CONFIG, **(base or {}))
    if jobs is None:
        jobs = []
        for k in range(len(seeds)):
            for name, (ov, nseeds) in models.items():
                if k < nseeds:
                    for o in origins:
                        jobs.append((name, ov, o, seeds[k]))
    done = _done(out)
    for name, ov, o, seed in jobs:
        if (name, str(pd.Timestamp(o).date()), seed) in done:
            continue
        t = time.time()
        rows = run_origin(sales, items, o, 45, {name: ov}, [seed], base, progress=_epoch_log, **kw)
        for r in rows:
            r["config"] = {} if name in BASELINES else dict(base, **(ov or {}))
        _append(out, rows)
        print(f"{name} {o} seed {seed} done in {time.time() - t:.0f}s: WAPE "
              + ", ".join(f"{r.get('group', 'all')}={r['WAPE']:.3f}" for r in rows), flush=True)


def retail(args):
    sales, items = adapters.online_retail(args.data, top=500, rank_until=args.origins.split(",")[0])
    origins = args.origins.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    models = {
        "snaive": (None, 1), "ma28": (None, 1), "autoets": (None, 1),
        "bilstm_text": ({}, 3),                                  # the multimodal model (no photos in this data)
        "lgbm": (None, 1),
        "bilstm_plain": (PLAIN, 3),
        "lstm_plain": (dict(PLAIN, temporal="lstm"), 1),
        "gru_plain": (dict(PLAIN, temporal="gru"), 1),
        "transformer_plain": (dict(PLAIN, temporal="transformer"), 1),
    }
    only = args.models.split(",") if args.models else list(models)
    # priority order for a bounded CPU budget: baselines, both BiLSTMs on seed 0, the sequence baselines on the
    # last origin, further seeds, then the sequence baselines on the other origins
    J = lambda name, os_, ss: [(name, models[name][0], o, s) for s in ss for o in os_ if name in only]  # noqa: E731
    seq = ["lstm_plain", "gru_plain", "transformer_plain"]
    jobs = (J("snaive", origins, [0]) + J("ma28", origins, [0]) + J("autoets", origins, [0])
            + J("bilstm_text", origins, seeds[:1]) + J("lgbm", origins, [0]) + J("bilstm_plain", origins, seeds[:1])
            + sum((J(m, origins[-1:], seeds[:1]) for m in seq), [])
            + sum((J("bilstm_text", origins, [s]) + J("bilstm_plain", origins, [s]) for s in seeds[1:]), [])
            + sum((J(m, origins[:-1], seeds[:1]) for m in seq), []))
    _run(sales, items, origins, models, seeds, args.out, jobs=jobs)


def coldstart(args):
    sales, items = adapters.online_retail(args.data, top=500, rank_until="2011-06-01")
    rng = np.random.default_rng(0)
    hidden = sorted(rng.choice(items["item_id"].to_numpy(), size=len(items) // 5, replace=False))
    seeds = [int(s) for s in args.seeds.split(",")]
    models = {"catmean": (None, 1), "bilstm_text": ({}, 3), "bilstm_plain": (PLAIN, 3)}
    _run(sales, items, args.origins.split(","), models, seeds, args.out, hide_items=hidden,
         groups={"cold (history hidden)": hidden,
                 "warm": sorted(set(items["item_id"]) - set(hidden))})


def m5(args):
    sales, items, events = adapters.m5_subset(args.data)
    seeds = [int(s) for s in args.seeds.split(",")]
    models = {"snaive": (None, 1), "ma28": (None, 1), "autoets": (None, 1), "lgbm": (None, 1),
              "bilstm_text": ({}, 3), "bilstm_plain": (PLAIN, 3), "lstm_plain": (dict(PLAIN, temporal="lstm"), 1),
              "gru_plain": (dict(PLAIN, temporal="gru"), 1),
              "transformer_plain": (dict(PLAIN, temporal="transformer"), 1)}
    only = args.models.split(",") if args.models else list(models)
    _run(sales, items, args.origins.split(","), {k: v for k, v in models.items() if k in only}, seeds, args.out,
         base={"extra_holidays": events, "stride": 3, "batch_size": 64})


def demo(args):
    sales, items, origin, hidden, seeds = _demo_inputs(args)
    cache = str(Path(args.cache))
    full = {"image_arch": "resnet101", "image_cache_dir": cache}
    models = {
        "snaive": (None, 1), "ma28": (None, 1), "lgbm": (None, 1), "catmean": (None, 1),
        "full (R101, attention, BiLSTM, image+text)": (full, 3),
        "without image+text": (dict(full, **PLAIN), 3),
        "ResNet-18": (dict(full, image_arch="resnet18"), 1),
        "concat instead of attention": (dict(full, fusion="concat"), 1),
        "LSTM instead of BiLSTM": (dict(full, temporal="lstm"), 1),
        "text only": (dict(full, use_image=False), 1),
        "image only": (dict(full, use_text=False), 1),
    }
    only = args.models.split(",") if args.models else list(models)
    o = str(origin.date())
    J = lambda name, ss: [(name, models[name][0], o, s) for s in ss if name in only]  # noqa: E731
    F, P = "full (R101, attention, BiLSTM, image+text)", "without image+text"
    # priority order for a bounded CPU budget
    jobs = (J("snaive", [0]) + J("ma28", [0]) + J("catmean", [0]) + J("lgbm", [0]) + J(F, seeds[:1])
            + J(P, seeds[:1]) + J("ResNet-18", seeds[:1]) + J("concat instead of attention", seeds[:1])
            + J("LSTM instead of BiLSTM", seeds[:1]) + J(P, seeds[1:]) + J(F, seeds[1:2]) + J("text only", seeds[:1])
            + J(F, seeds[2:3]) + J("image only", seeds[:1]))
    _run(sales, items, [o], models, seeds, args.out, jobs=jobs,
         base={"stride": 14}, hide_items=hidden,
         groups={"warm": sorted(set(items["item_id"]) - set(hidden)), "cold (history hidden)": hidden})


def _demo_inputs(args):
    """The demo export's sales and items, the origin, the hidden (cold-start) items and the seeds."""
    d = Path(args.data)
    sales = pd.read_csv(d / "sales.csv", dtype={"item_id": str})
    items = pd.read_csv(d / "items.csv", dtype={"item_id": str})
    origin = pd.Timestamp(args.origins.split(",")[0])
    return sales, items, origin, _demo_split(sales, origin), [int(s) for s in args.seeds.split(",")]


def _demo_split(sales, origin):
    """The demo experiments' item split: a quarter of the products launched 60+ days before the origin get their
    history hidden (cold start); the rest are warm."""
    rng = np.random.default_rng(0)
    launched = sales.groupby("item_id")["date"].min()
    old = sorted(launched[pd.to_datetime(launched) <= origin - pd.Timedelta(days=60)].index)
    return sorted(rng.choice(old, size=len(old) // 4, replace=False))


def ablation(args):
    """The image branch's gain with the pretrained backbone: image+text vs text only vs neither, 3 seeds, warm and
    cold-start items (the same origin, hidden items and budget settings as `demo`)."""
    sales, items, origin, hidden, seeds = _demo_inputs(args)
    full = {"image_arch": args.arch, "image_cache_dir": str(Path(args.cache))}
    models = {f"image+text ({args.arch})": (full, len(seeds)), "text only": (dict(full, use_image=False), len(seeds)),
              "neither (no image, no text)": (dict(full, **PLAIN), len(seeds))}
    only = args.models.split(",") if args.models else list(models)
    jobs = [(n, models[n][0], str(origin.date()), s) for s in seeds for n in models if n in only]
    _run(sales, items, [str(origin.date())], models, seeds, args.out, jobs=jobs, base={"stride": 14},
         hide_items=hidden,
         groups={"warm": sorted(set(items["item_id"]) - set(hidden)), "cold (history hidden)": hidden})


def speed(args):
    import torch
    from PIL import Image

    from mlcore.images import ImageFeatureExtractor

    torch.set_num_threads(2)
    res = {}
    sales, items = adapters.online_retail(args.data, top=500, rank_until="2011-08-16")
    cfg = dict(BENCH_CONFIG, epochs=args.epochs, patience=args.epochs)
    hist = sales[pd.to_datetime(sales["date"]) <= "2011-08-16"]
    t = time.time()
    art = api.fit(hist, items, cfg)
    res["retail_top500_fit_seconds"] = time.time() - t
    res["retail_top500_train_seconds"] = art.metrics["train_seconds"]
    res["retail_top500_windows_per_s"] = art.metrics["windows_per_s"]
    res["retail_top500_epochs"] = art.metrics["epochs_run"]
    res["retail_top500_windows_per_epoch"] = art.metrics["train_windows"] / art.metrics["epochs_run"]
    # 10,000 items x 45 days: the 500 catalog items replicated with new ids (history copied)
    reps = 20
    big_items = pd.concat([items.assign(item_id=items["item_id"] + f"_{k}") for k in range(reps)])
    big_sales = pd.concat([hist.assign(item_id=hist["item_id"] + f"_{k}") for k in range(reps)])
    t = time.time()
    fc = api.predict(art, big_sales, big_items, as_of="2011-08-16", horizon=45)
    res["predict_10k_items_45d_seconds"] = time.time() - t
    res["predict_rows"] = len(fc)
    tmp = Path(args.cache) / "speed_imgs"
    tmp.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    for k in range(args.images):
        p = tmp / f"{k}.png"
        Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    for arch in ("resnet18", "resnet101"):
        ext = ImageFeatureExtractor(arch, cache_dir=None, image_size=224, batch_size=16)
        ext.region_features(paths[:2])  # build the network
        t = time.time()
        ext.region_features(paths)
        res[f"image_features_per_s_{arch}_224px"] = len(paths) / (time.time() - t)
    ext = ImageFeatureExtractor("resnet18", cache_dir=str(tmp / "cache"), image_size=224)
    ext.region_features(paths)
    t = time.time()
    ext.region_features(paths)
    res["image_features_per_s_cached"] = len(paths) / (time.time() - t)
    res["torch_threads"] = torch.get_num_threads()
    print(json.dumps(res, indent=1))
    _append(args.out, [res])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["retail", "coldstart", "m5", "demo", "ablation", "speed"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--origins", default=None)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--models", default=None, help="comma separated subset of the experiment's models")
    ap.add_argument("--cache", default="benchmarks/out/cache")
    ap.add_argument("--epochs", type=int, default=5, help="speed: epochs to time")
    ap.add_argument("--threads", type=int, default=1, help="torch / LightGBM threads (1 is best on shared cores)")
    ap.add_argument("--images", type=int, default=64, help="speed: images to time")
    ap.add_argument("--arch", default="efficientnet_lite0", help="ablation: image backbone of the image+text model")
    args = ap.parse_args()
    default_origins = {"retail": "2011-06-01,2011-07-01,2011-08-16", "coldstart": "2011-07-01",
                       "m5": "2015-12-11,2016-01-25,2016-03-10", "demo": "2026-10-06", "ablation": "2026-10-06",
                       "speed": ""}
    args.origins = args.origins or default_origins[args.what]
    args.out = args.out or f"benchmarks/out/{args.what}.json"
    logging.basicConfig(level=logging.WARNING)
    import torch

    torch.set_num_threads(args.threads)
    BENCH_CONFIG["num_threads"] = args.threads
    globals()[args.what](args)


if __name__ == "__main__":
    main()
