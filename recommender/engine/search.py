"""Validation searches for the models whose settings are too many for a grid: TIFU-KNN and the served hybrid.

Both use coordinate ascent on validation NDCG@10 (one setting at a time over its values, keep the best, until a
full pass changes nothing) and memoise the expensive parts, so the whole search costs a few minutes on a CPU.
The chosen configuration is then tested like every other model (``evaluate.rows_on_test``). Nothing here ever
looks at the test period.
"""
from __future__ import annotations

import time

import numpy as np

from .config import Config
from .data import Encoded
from .evaluate import Prepared, evaluate, rows_on_test
from .hybrid import HybridModel, RankerParams, _Stage
from .tifu import TIFUKNN, TifuParams, baskets, nearest, user_vectors

TIFU_SPACE = {
    "group_size": [1, 2, 3, 5, 7, 10, 15, 20],
    "within_decay": [0.5, 0.7, 0.8, 0.9, 0.95, 1.0],
    "group_decay": [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0],
    "neighbours": [10, 25, 50, 100, 200, 300, 500, 800],
    "alpha": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0],
    "metric": ["euclidean", "cosine"],
}

RANKER_SPACE = {
    "windows": [1, 2, 3],
    "num_leaves": [7, 15, 31],
    "n_estimators": [100, 200, 400],
    "min_child_samples": [20, 100],
}


def coordinate_search(space: dict, start: dict, objective, passes: int = 3, log=None) -> tuple[dict, float, list]:
    """Coordinate ascent over ``space`` (name -> values) from ``start``; ``objective(params) -> float`` (higher is
    better) is memoised. Returns (best params, best value, every (params, value) tried, in order)."""
    seen = {}

    def f(p):
        key = _key(p)
        if key not in seen:
            seen[key] = (dict(p), objective(dict(p)))
            if log:
                log(f"    {dict(p)} -> {seen[key][1]:.4f}")
        return seen[key][1]

    best = dict(start)
    best_v = f(best)
    for _ in range(passes):
        changed = False
        for name, values in space.items():
            for v in values:
                cand = {**best, name: v}
                val = f(cand)
                if val > best_v + 1e-12:
                    best, best_v, changed = cand, val, True
        if not changed:
            break
    return best, best_v, list(seen.values())


def _key(p: dict) -> str:
    return repr(sorted(p.items()))


class _TifuCache:
    """Baskets, vectors and wide neighbour lists of TIFU-KNN, shared by the configurations of a search."""

    def __init__(self, enc: Encoded, event_weights: dict | None, k_max: int):
        self.enc, self.ew, self.k_max = enc, event_weights, k_max
        self.bk, self.vec, self.nb = {}, {}, {}

    def model(self, params: dict) -> TIFUKNN:
        p = TifuParams.from_dict(params)
        if p.basket_gap_hours not in self.bk:
            self.bk[p.basket_gap_hours] = baskets(self.enc, p.basket_gap_hours, self.ew)
        vkey = (p.basket_gap_hours, p.group_size, p.within_decay, p.group_decay)
        if vkey not in self.vec:
            self.vec[vkey] = user_vectors(self.bk[p.basket_gap_hours], self.enc.n_users, self.enc.n_items,
                                          p.group_size, p.within_decay, p.group_decay).astype(np.float32)
        V = self.vec[vkey]
        nkey = vkey + (p.metric,)
        if nkey not in self.nb:
            has = np.diff(V.indptr) > 0
            self.nb[nkey] = nearest(V, V, max(self.k_max, p.neighbours), p.metric, self_index=np.arange(V.shape[0]),
                                    candidates=has)
        return TIFUKNN(event_weights=self.ew, **params).fit(self.enc, _vectors=V, _neighbours=self.nb[nkey])


def tune_tifu(val: Prepared, repeat: bool, start: dict | None = None, space: dict | None = None, passes: int = 3,
              event_weights: dict | None = None, log=None) -> tuple[dict, dict, list]:
    """TIFU-KNN's settings by coordinate ascent on validation NDCG@10: (best params, their validation metrics,
    trials)."""
    space = dict(space or TIFU_SPACE)
    start = {**TifuParams().to_dict(), **(start or {})}
    cache = _TifuCache(val.enc, event_weights, max(space.get("neighbours", [start["neighbours"]])))
    results = {}

    def objective(p):
        res = evaluate(cache.model(p), val, repeat)
        results[_key(p)] = res
        return res["NDCG@10"]

    best, _, trials = coordinate_search(space, start, objective, passes, log)
    return best, results[_key(best)], trials


def tune_hybrid(val: Prepared, repeat: bool, dnn: dict, tifu: dict, start: dict | None = None,
                space: dict | None = None, passes: int = 2, log=None) -> tuple[dict, dict, list]:
    """The re-ranker's settings by coordinate ascent on validation NDCG@10, the DNN and TIFU-KNN settings given
    (their own validation choices). The models are fitted once per label window and once on the whole
    validation history; only LightGBM is retrained per configuration. Returns (best ranker params, validation
    metrics, trials)."""
    space = dict(space or RANKER_SPACE)
    start = {**RankerParams().to_dict(), **(start or {})}
    cfg = Config.from_dict({**dnn, "repeat": repeat})
    widest = RankerParams.from_dict({**start, "windows": max(space.get("windows", [start["windows"]]))})
    t0 = time.time()
    collector = HybridModel(cfg, tifu, widest)
    windows = collector.training_windows(val.enc, val.content, log=log)
    final = _Stage.fit(val.enc, val.content, cfg, collector.tp, widest)
    if log:
        log(f"  [hybrid] models fitted for {len(windows)} windows and the validation history ({time.time() - t0:.0f}s)")
    results = {}

    def objective(p):
        m = HybridModel(cfg, tifu, p)
        m.stage = final
        m.train(windows)
        res = evaluate(m, val, repeat)
        results[_key(p)] = res
        return res["NDCG@10"]

    best, _, trials = coordinate_search(space, start, objective, passes, log)
    return best, results[_key(best)], trials


def tune_and_test_tifu(val: Prepared, test: Prepared, settings=(True, False), log=print) -> list:
    """Search TIFU-KNN on validation for each repeat setting, test the choice (deterministic: one run)."""
    out = []
    for rep in settings:
        t0 = time.time()
        best, vres, trials = tune_tifu(val, rep, log=log)
        log(f"  [tifu] repeat={rep}: {len(trials)} configurations on validation, best {best} "
            f"NDCG@10={vres['NDCG@10']:.4f} ({time.time() - t0:.0f}s)")
        out += rows_on_test("tifu", best, [(rep, vres)], lambda seed: TIFUKNN(**best).fit(test.enc), test, (0,), log)
    return out


def tune_and_test_hybrid(val: Prepared, test: Prepared, dnn_params: dict, tifu_params: dict, seeds=(0, 1, 2),
                         settings=(True, False), ranker_start: dict | None = None, log=print) -> list:
    """``dnn_params`` / ``tifu_params``: repeat setting -> the DNN's / TIFU-KNN's validation choice;
    ``ranker_start``: fixed re-ranker settings of the data set (label window, label events) and the start."""
    out = []
    for rep in settings:
        t0 = time.time()
        best, vres, trials = tune_hybrid(val, rep, dnn_params[rep], tifu_params[rep], ranker_start, log=log)
        log(f"  [hybrid] repeat={rep}: {len(trials)} re-ranker configurations on validation, best {best} "
            f"NDCG@10={vres['NDCG@10']:.4f} ({time.time() - t0:.0f}s)")
        params = {"dnn": {**dnn_params[rep], "repeat": rep}, "tifu": tifu_params[rep], "ranker": best}
        cfgs = {s: Config.from_dict({**params["dnn"], "seed": s}) for s in seeds}
        out += rows_on_test("hybrid", params, [(rep, vres)],
                            lambda seed: HybridModel(cfgs[seed], params["tifu"], best).fit(test.enc, test.content),
                            test, seeds, log)
    return out
