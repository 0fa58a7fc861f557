"""Baselines on the dense (items x days) units matrix that ends at the forecast origin.

Each function returns (items, horizon) point forecasts. None of them sees anything after the origin.

* seasonal_naive: repeat the last 7 days (lag 7).
* moving_average: mean of the last 28 days, flat.
* auto_ets: statsforecast AutoETS, season length 7, per series, fit on the item's active history.
* LightGBMDirect: one global LightGBM model, Tweedie objective, direct multi-horizon with the horizon step as a
  feature ("horizon-as-feature": one model for all 45 steps). Features are computed at the origin (lags 1-7,
  14, 21, 28, 35, 42, 49, 56 days back from the origin; rolling means 7/28/56/112; zero share; mean of the
  target's weekday over the last 4 and 8 weeks; log price ratio; days since first sale) plus the target day's
  weekday, month, holiday flag and the horizon step.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import calendar_frame


def seasonal_naive(units: np.ndarray, horizon: int, season: int = 7) -> np.ndarray:
    last = units[:, -season:]
    reps = -(-horizon // season)
    return np.tile(last, (1, reps))[:, :horizon]


def moving_average(units: np.ndarray, horizon: int, window: int = 28) -> np.ndarray:
    return np.repeat(units[:, -window:].mean(1, keepdims=True), horizon, axis=1)


def auto_ets(units: np.ndarray, horizon: int, first_day=None, season: int = 7, n_jobs: int = 1) -> np.ndarray:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    N, T = units.shape
    frames = []
    for k in range(N):
        s = int(first_day[k]) if first_day is not None else 0
        s = min(s, T - 2 * season)
        y = units[k, s:]
        frames.append(pd.DataFrame({"unique_id": k, "ds": np.arange(s, T), "y": y.astype(float)}))
    df = pd.concat(frames, ignore_index=True)
    sf = StatsForecast(models=[AutoETS(season_length=season)], freq=1, n_jobs=n_jobs)
    fc = sf.forecast(df=df, h=horizon)
    out = np.zeros((N, horizon))
    for k, g in fc.groupby("unique_id"):
        out[int(k)] = g["AutoETS"].to_numpy()[:horizon]
    return np.clip(np.nan_to_num(out), 0, None)


LAGS = [1, 2, 3, 4, 5, 6, 7, 14, 21, 28, 35, 42, 49, 56]


class LightGBMDirect:
    def __init__(self, horizon: int = 45, stride: int = 7, n_estimators: int = 400, learning_rate: float = 0.05,
                 num_leaves: int = 31, seed: int = 0, n_jobs: int = 2, tweedie_variance_power: float = 1.2):
        self.h = horizon
        self.stride = stride
        self.params = dict(objective="tweedie", tweedie_variance_power=tweedie_variance_power,
                           n_estimators=n_estimators, learning_rate=learning_rate, num_leaves=num_leaves,
                           min_child_samples=50, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                           random_state=seed, n_jobs=n_jobs, verbose=-1)

    def _features(self, units, price, first_day, cal, origins, items, category):
        # units (N, T); origin o = index of last known day; returns rows for every (item, origin, step)
        H = self.h
        u = units[items[:, None], origins[:, None] - np.arange(0, 112)[None, :]]  # u[:, l] = units at o - l
        base = {f"lag{l}": u[:, l - 1] for l in LAGS}
        for w in (7, 28, 56, 112):
            base[f"mean{w}"] = u[:, :w].mean(1)
        base["zero28"] = (u[:, :28] == 0).mean(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pr = price[items, origins] / np.nanmedian(price[items][:, :], axis=1)
        base["price_rel"] = np.nan_to_num(np.log(pr), nan=0.0, posinf=0.0, neginf=0.0)
        base["age"] = origins - first_day[items]
        base["category"] = category[items]
        rows = []
        for h in range(1, H + 1):
            d = dict(base)
            d["h"] = np.full(len(items), h)
            td = origins + h
            d["dow"] = cal["dow"][td]
            d["month"] = cal["month"][td]
            d["holiday"] = cal["holiday"][td]
            # same weekday as the target over the last 4 / 8 weeks
            back = (h % 7) or 7
            sw = [u[:, 7 * k - back] if 7 * k - back >= 0 else u[:, 0] for k in range(1, 9)]
            d["sdow4"] = np.mean(sw[:4], 0)
            d["sdow8"] = np.mean(sw, 0)
            rows.append(pd.DataFrame(d))
        return pd.concat(rows, ignore_index=True)

    @staticmethod
    def _cal(dates):
        c = calendar_frame(dates)
        return {"dow": c[:, :7].argmax(1), "month": dates.month.to_numpy(), "holiday": c[:, 9]}

    def fit_predict(self, units, price, first_day, dates, category=None, val_frac=0.15):
        """Train on origins inside ``units`` (ends at the forecast origin), forecast ``h`` days after it."""
        import lightgbm as lgb

        N, T = units.shape
        pad = 112
        U = np.concatenate([np.zeros((N, pad)), units], 1)
        P = np.concatenate([np.full((N, pad), np.nan), price], 1)
        fd = first_day + pad
        all_dates = pd.date_range(dates[0] - pd.Timedelta(days=pad), dates[-1] + pd.Timedelta(days=self.h))
        cal = self._cal(all_dates)
        category = np.zeros(N, int) if category is None else np.asarray(category)
        o_max = pad + T - 1 - self.h
        its, ors = [], []
        for k in range(N):
            o = np.arange(max(fd[k] + 27, pad + 27), o_max + 1, self.stride)
            its.append(np.full(len(o), k))
            ors.append(o)
        its, ors = np.concatenate(its), np.concatenate(ors)
        X = self._features(U, P, fd, cal, ors, its, category)
        y = np.concatenate([U[its, ors + h] for h in range(1, self.h + 1)])
        o_rep = np.tile(ors, self.h)
        cut = np.quantile(ors, 1 - val_frac) if len(ors) else 0
        tr, va = o_rep < cut, o_rep >= cut
        model = lgb.LGBMRegressor(**self.params)
        if va.sum() > 0 and tr.sum() > 0:
            model.fit(X[tr], y[tr], eval_set=[(X[va], y[va])],
                      callbacks=[lgb.early_stopping(50, verbose=False)], categorical_feature=["category"])
            best = model.best_iteration_ or self.params["n_estimators"]
            params = dict(self.params, n_estimators=best)
            model = lgb.LGBMRegressor(**params)   # refit on all training origins with the chosen rounds
        model.fit(X, y, categorical_feature=["category"])
        o = np.full(N, pad + T - 1)
        Xf = self._features(U, P, fd, cal, o, np.arange(N), category)
        f = model.predict(Xf).reshape(self.h, N).T
        return np.clip(f, 0, None)
