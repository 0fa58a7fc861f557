"""Rolling-origin backtest: every model is trained on rows up to the origin only and scored on the next days.

    results = backtest(sales, items, origins=["2011-06-01"], horizon=45,
                       models={"snaive": None, "bilstm_mm": {...config overrides...}}, seeds=[0, 1, 2])

Model names with a built-in meaning: ``snaive`` (lag 7), ``ma28``, ``autoets``, ``lgbm``; every other name is
the neural forecaster with the given config overrides (e.g. ``{"temporal": "gru", "use_image": False,
"use_text": False}``). Returns a list of dict rows: model, origin, seed, metrics..., fit_seconds.
"""
from __future__ import annotations

import logging
import time
import warnings

import numpy as np
import pandas as pd

from . import api
from . import baselines as B
from . import data as D
from .metrics import evaluate

log = logging.getLogger(__name__)
BASELINES = ("snaive", "ma28", "autoets", "lgbm", "catmean")


def _category_mean(ph, items, horizon, days=28):
    """Flat forecast: mean daily units of the item's category (items with history, last ``days`` days)."""
    T = ph.units.shape[1]
    known = ph.first_day < T
    rate = ph.units[:, -days:].mean(1)
    cats = items["category"].to_numpy()
    glob = rate[known].mean() if known.any() else 0.0
    out = np.empty(len(items))
    for c in np.unique(cats):
        m = cats == c
        out[m] = rate[m & known].mean() if (m & known).any() else glob
    out[known] = rate[known]   # items with history keep their own recent mean
    return np.repeat(out[:, None], horizon, 1)


def _dense(sales, items, origin, horizon):
    origin = pd.Timestamp(origin)
    hist = sales[sales["date"] <= origin]
    start = hist["date"].min()
    ph = D.build_panel(hist, items["item_id"], start, origin)
    fut = D.build_panel(sales, items["item_id"], origin + pd.Timedelta(days=1), origin + pd.Timedelta(days=horizon))
    return hist, ph, fut


def run_origin(sales, items, origin, horizon, models, seeds=(0,), base_config=None, eval_items=None,
               hide_items=None, progress=None, groups=None):
    """Score all ``models`` at one origin. ``hide_items``: items whose history before the origin is removed
    (they look like new products: cold start); ``eval_items``: restrict scoring to these items (default: items
    with history before the origin); ``groups``: {name: item ids} scored separately (rows get ``group``)."""
    sales = D.validate_sales(sales)
    items = D.validate_items(items)
    origin = pd.Timestamp(origin)
    train_sales = sales
    if hide_items is not None:
        hidden = set(hide_items)
        train_sales = sales[~(sales["item_id"].isin(hidden) & (sales["date"] <= origin))]
    hist, ph, fut = _dense(train_sales, items, origin, horizon)
    _, _, fut_all = _dense(sales, items, origin, horizon)
    y = fut_all.units
    T = ph.units.shape[1]
    if eval_items is None:
        mask = ph.first_day < T
    else:
        mask = items["item_id"].isin(set(eval_items)).to_numpy()
    # MASE scale / previous-45 direction come from the true history (also for hidden items)
    _, ph_true, _ = _dense(sales, items, origin, horizon)
    rows = []
    for name, overrides in models.items():
        for seed in (seeds if name not in BASELINES or name == "lgbm" else (0,)):
            t0 = time.time()
            lo = hi = None
            extra = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "snaive":
                    f = B.seasonal_naive(ph.units, horizon)
                elif name == "ma28":
                    f = B.moving_average(ph.units, horizon)
                elif name == "catmean":
                    f = _category_mean(ph, items, horizon)
                elif name == "autoets":
                    f = B.auto_ets(ph.units, horizon, ph.first_day)
                elif name == "lgbm":
                    cats = pd.factorize(items["category"])[0]
                    lgb_kw = dict(overrides or {})
                    lgb_kw.setdefault("n_jobs", int((base_config or {}).get("num_threads") or 2))
                    f = B.LightGBMDirect(horizon=horizon, seed=seed, **lgb_kw).fit_predict(
                        ph.units, ph.price, ph.first_day, ph.dates, cats)
                else:
                    cfg = api.make_config(base_config, **(overrides or {}), horizon=horizon, seed=seed)
                    art = api.fit(hist, items, cfg, progress=progress, train_until=origin)
                    t1 = time.time()
                    p = api.predict(art, hist, items, as_of=origin, horizon=horizon)
                    pred_s = time.time() - t1
                    arr = {q: p[q].to_numpy().reshape(len(items), horizon) for q in ("p10", "p50", "p90")}
                    f, lo, hi = arr["p50"], arr["p10"], arr["p90"]
                    m = art.metrics
                    extra = {"epochs_run": m["epochs_run"], "best_epoch": m["best_epoch"],
                             "train_seconds": m["train_seconds"], "windows_per_s": m["windows_per_s"],
                             "train_windows": m["train_windows"], "predict_seconds": pred_s,
                             "image_seconds": m["image_seconds"]}
            fit_s = time.time() - t0
            masks = {"all": mask} if groups is None else {
                g: items["item_id"].isin(set(ids)).to_numpy() for g, ids in groups.items()}
            for g, mk in masks.items():
                r = evaluate(y[mk], f[mk], ph_true.units[mk], None if lo is None else lo[mk],
                             None if hi is None else hi[mk], ph_true.active[mk])
                r.update({"model": name, "origin": str(origin.date()), "seed": seed, "group": g,
                          "n_items": int(mk.sum()), "fit_seconds": fit_s, **extra})
                log.info("%s %s seed %s %s WAPE %.4f (%.0fs)", name, origin.date(), seed, g, r["WAPE"], fit_s)
                rows.append(r)
    return rows


def backtest(sales, items, origins, horizon=45, models=None, seeds=(0,), base_config=None, **kw):
    models = models or {"snaive": None, "ma28": None, "autoets": None, "lgbm": None, "bilstm_mm": {}}
    out = []
    for o in origins:
        out += run_origin(sales, items, o, horizon, models, seeds, base_config, **kw)
    return out


def summarise(rows, metrics=("WAPE", "MAE", "RMSE", "MASE", "bias", "R2", "dir_acc", "dir_AUC", "cover80",
                             "WAPE_1-7", "WAPE_8-28", "WAPE_29-45")):
    """Mean and standard deviation over seeds (per model and origin), then averaged over origins."""
    df = pd.DataFrame(rows)
    cols = [m for m in metrics if m in df.columns]
    keys = ["model", "group", "origin"] if "group" in df.columns else ["model", "origin"]
    per = df.groupby(keys)[cols].agg(["mean", "std"])
    return per, df.groupby(keys[:-1])[cols].mean()


_ = np
