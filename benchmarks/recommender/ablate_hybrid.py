"""What the served hybrid owes to each part, on the Online Retail VALIDATION period only (train < 2011-08-01,
evaluate August 2011; the test month is never touched): the re-ranker with a group of features taken out (set
to a constant, so no tree can split on it), with fewer label windows, and, for reference, TIFU-KNN, the DNN and
their best linear blend (weight chosen on the same validation month).

    OMP_NUM_THREADS=1 nice python benchmarks/recommender/ablate_hybrid.py DATA.csv.gz [--repeat true|false]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from recommender.engine import adapters  # noqa: E402
from recommender.engine.config import Config  # noqa: E402
from recommender.engine.data import validate_interactions, validate_items  # noqa: E402
from recommender.engine.evaluate import evaluate, prepare  # noqa: E402
from recommender.engine.hybrid import FEATURES, HybridModel, _Stage, log_softmax  # noqa: E402
from recommender.engine.search import tune_tifu  # noqa: E402
from recommender.engine.tifu import TIFUKNN  # noqa: E402

GROUPS = {
    "TIFU-KNN": ["tifu_own", "tifu_nbr", "tifu", "tifu_rank"],
    "DNN": ["dnn_logp", "dnn_rank"],
    "item-kNN": ["knn", "knn_rank"],
    "repeat signals (user x item)": ["ui_baskets", "ui_share", "ui_days_last", "ui_days_first", "ui_interval",
                                     "ui_overdue"],
    "user activity": ["u_baskets", "u_days_last", "u_days_first"],
    "item popularity, trend, repeat rate, age": ["i_users", "i_users_7", "i_users_30", "i_trend", "i_repeat",
                                                  "i_age"],
}


class _Fixed:
    def __init__(self, prep, S):
        self.row = {u: r for r, u in enumerate(prep.ev.users)}
        self.S = S

    def score(self, users, histories=None):
        return self.S[[self.row[u] for u in users]]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data")
    ap.add_argument("--repeat", default="true")
    ap.add_argument("--windows", type=int, default=2,
                    help="label windows of the re-ranker the feature ablations use (the backtest chose 2 when repeats "
                         "count, 1 on new items)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    rep = a.repeat.lower() == "true"
    inter, items = adapters.online_retail(a.data)
    inter, items = validate_interactions(inter), validate_items(items)
    val = prepare(inter, items, "2011-08-01", "2011-09-01")
    t0 = time.time()
    tifu_p, tifu_val, _ = tune_tifu(val, rep)
    # the DNN's validation choices (RESULTS.md): 1 epoch when repeats count, 2 on new items only
    cfg = Config.from_dict({"epochs": 1 if rep else 2, "repeat": rep, "threads": 1})
    base = HybridModel(cfg, tifu_p, {"windows": 3})
    windows = base.training_windows(val.enc, val.content)
    final = _Stage.fit(val.enc, val.content, cfg, base.tp, base.rp)
    print(f"# repeat={rep}: models fitted ({time.time() - t0:.0f}s)", flush=True)

    def run(name, drop=(), n_windows=3):
        cols = [FEATURES.index(f) for f in drop]
        wins = []
        for w in windows[:n_windows]:
            if w is None:
                continue
            X = w[0].copy()
            X[:, cols] = 0.0
            wins.append((X, w[1], w[2]))
        m = HybridModel(cfg, tifu_p, {"windows": n_windows})
        m.stage = final
        if cols:
            real = final.candidates_and_features

            def masked(users, allowed=None):
                rows, its, X, fb = real(users, allowed)
                X = X.copy()
                X[:, cols] = 0.0
                return rows, its, X, fb
            m.stage = _Masked(final, masked)
        m.train(wins)
        res = evaluate(m, val, rep)
        print(f"| {name} | {res['NDCG@10']:.4f} | {res['HR@10']:.4f} | {res['Recall@20']:.4f} | "
              f"{res['coverage']:.4f} | {res['new@10']:.4f} |", flush=True)

    print("| variant (validation, August 2011) | NDCG@10 | HR@10 | Recall@20 | coverage | new@10 |")
    print("|---|---|---|---|---|---|")
    print(f"| TIFU-KNN alone (tuned) | {tifu_val['NDCG@10']:.4f} | {tifu_val['HR@10']:.4f} | "
          f"{tifu_val['Recall@20']:.4f} | {tifu_val['coverage']:.4f} | {tifu_val['new@10']:.4f} |")
    dnn = evaluate(final.dnn, val, rep)
    print(f"| DNN alone | {dnn['NDCG@10']:.4f} | {dnn['HR@10']:.4f} | {dnn['Recall@20']:.4f} | "
          f"{dnn['coverage']:.4f} | {dnn['new@10']:.4f} |")
    # the best linear blend of the two, its weight chosen on this validation month
    P = TIFUKNN(**tifu_p).fit(val.enc).predict_vectors(val.ev.users)
    pd_ = np.exp(log_softmax(final.dnn.score_users(val.ev.users)))
    share = P / np.maximum(P.sum(1, keepdims=True), 1e-12)
    best = max(((w, evaluate(_Fixed(val, ((1 - w) * pd_ + w * share + 1e-9 * pd_).astype(np.float32)), val, rep))
                for w in np.linspace(0, 1, 11)), key=lambda x: x[1]["NDCG@10"])
    b = best[1]
    print(f"| blend (1 - w) DNN + w TIFU-KNN, w = {best[0]:.1f} | {b['NDCG@10']:.4f} | {b['HR@10']:.4f} | "
          f"{b['Recall@20']:.4f} | {b['coverage']:.4f} | {b['new@10']:.4f} |", flush=True)
    for n in (1, 2, 3):
        run(f"hybrid, {n} window{'s' if n > 1 else ''}, every feature", n_windows=n)
    for g, feats in GROUPS.items():
        run(f"hybrid, {a.windows} window{'s' if a.windows > 1 else ''}, without {g}", drop=feats,
            n_windows=a.windows)


class _Masked:
    """A stage whose features have some columns blanked (the ablation)."""

    def __init__(self, stage, fn):
        self._stage = stage
        self.candidates_and_features = fn

    def __getattr__(self, name):
        return getattr(self._stage, name)


if __name__ == "__main__":
    main()
