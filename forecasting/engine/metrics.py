"""Forecast accuracy metrics.

All functions take arrays ``y`` (actuals) and ``f`` (p50 forecasts) of shape (items, horizon) and, where
needed, the history before the origin ``hist`` (items, days).

* MAE, RMSE over all item-days; WAPE = sum|f - y| / sum y; bias = sum(f - y) / sum y;
  R^2 = 1 - SSE / SS_tot over all item-days.
* MASE: per item MAE / (mean |y_t - y_{t-7}| over the item's training window, the lag-7 seasonal naive
  in-sample error), averaged over items with a non-zero scale.
* Direction: "up" when the next ``horizon`` days sell more than the previous ``horizon`` days. Accuracy of the
  predicted direction, and AUC of the score ``sum(f) / (sum(previous) + 1)`` against the actual direction.
* WAPE_total: WAPE of each item's total over the horizon, sum_i |sum_h f_ih - sum_h y_ih| / sum y (does the
  model know each product's demand level; insensitive to day-to-day Poisson noise).
* Coverage: share of item-days with p10 <= y <= p90.
* Bands: days 1-7, 8-28, 29-45 (clipped to the horizon).
"""
from __future__ import annotations

import numpy as np

BANDS = [("1-7", 0, 7), ("8-28", 7, 28), ("29-45", 28, 45)]


def mase_scale(hist: np.ndarray, active=None) -> np.ndarray:
    d = np.abs(hist[:, 7:] - hist[:, :-7])
    if active is not None:
        m = active[:, 7:] * active[:, :-7]
        return (d * m).sum(1) / np.maximum(m.sum(1), 1)
    return d.mean(1) if d.shape[1] else np.zeros(len(hist))


def point_metrics(y, f, scale=None):
    y = np.asarray(y, float)
    f = np.asarray(f, float)
    e = f - y
    tot = y.sum()
    out = {
        "MAE": float(np.abs(e).mean()),
        "RMSE": float(np.sqrt((e ** 2).mean())),
        "WAPE": float(np.abs(e).sum() / tot) if tot > 0 else float("nan"),
        "bias": float(e.sum() / tot) if tot > 0 else float("nan"),
        "R2": float(1 - (e ** 2).sum() / max(((y - y.mean()) ** 2).sum(), 1e-12)),
    }
    if scale is not None:
        ok = scale > 0
        out["MASE"] = float((np.abs(e).mean(1)[ok] / scale[ok]).mean()) if ok.any() else float("nan")
    return out


def direction_metrics(y, f, prev):
    from sklearn.metrics import roc_auc_score

    prev_sum = prev.sum(1)
    actual_up = y.sum(1) > prev_sum
    pred_up = f.sum(1) > prev_sum
    score = f.sum(1) / (prev_sum + 1.0)
    acc = float((actual_up == pred_up).mean())
    auc = float(roc_auc_score(actual_up, score)) if 0 < actual_up.sum() < len(actual_up) else float("nan")
    return {"dir_acc": acc, "dir_AUC": auc}


def evaluate(y, f, hist, lo=None, hi=None, active=None):
    """All metrics for one forecast origin. ``hist``: history up to the origin (items, days >= horizon)."""
    H = y.shape[1]
    scale = mase_scale(hist, active)
    out = point_metrics(y, f, scale)
    out.update(direction_metrics(y, f, hist[:, -H:]))
    tot = y.sum()
    out["WAPE_total"] = float(np.abs(f.sum(1) - y.sum(1)).sum() / tot) if tot > 0 else float("nan")
    if lo is not None and hi is not None:
        out["cover80"] = float(((y >= lo - 1e-9) & (y <= hi + 1e-9)).mean())
    for name, a, b in BANDS:
        if a >= H:
            continue
        b = min(b, H)
        pm = point_metrics(y[:, a:b], f[:, a:b], scale)
        out[f"WAPE_{name}"] = pm["WAPE"]
        out[f"MAE_{name}"] = pm["MAE"]
    return out
