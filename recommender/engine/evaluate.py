"""Offline evaluation in time order, ranking against all items (no sampled negatives).

Protocol (``backtest``):

1. validation: train on events before ``val_cut``, evaluate on ``[val_cut, test_cut)``; every model's grid (and,
   for the models trained by epochs, the epoch count) is chosen there by NDCG@10, separately for each repeat
   setting;
2. test: retrain the chosen configuration on events before ``test_cut`` with 3 seeds, evaluate on
   ``[test_cut, end)``; report mean and spread (population standard deviation) over the seeds.

Users ("user" mode): every user seen before the cutoff with at least one target event in the window; their
targets are the distinct items of those events that exist in the training catalog. With ``repeat=True`` items
the user already had (target events before the cutoff) count as targets and may be recommended; with
``repeat=False`` they are removed from the targets and from every model's list.

Sessions ("session" mode, anonymous data): every session that starts in the window; each prefix of length >= 1
predicts the next item (known to the catalog). With ``repeat=False`` items already in the prefix are neither
targets nor recommended.

Metrics per user / prefix, then averaged: HR@10, NDCG@10 (binary relevance, ideal DCG over min(|T|, 10)),
Recall@20 (|T cap top-20| / |T|), MRR (reciprocal rank of the best-ranked target, ties at their mean rank),
AUC (probability that a target outranks a non-target item of the catalog: the ranking AUC of the predicted
purchase probability), catalog coverage (share of the catalog that appears in at least one top-10) and new@10
(share of the top 10 that the user never had before the cutoff: what the list shows them that is new; 1 by
construction with ``repeat=False``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .baselines import MODELS as BASELINES
from .config import Config
from .data import SESSION_PREFIX, Encoded, encode
from .dnn import DNNModel
from .features import ItemContent, build_content
from .hybrid import HybridModel
from .tifu import TIFUKNN


class DNNScorer:
    def __init__(self, **params):
        self.cfg = Config.from_dict(params)

    def fit(self, enc, content, epoch_hook=None):
        self.model = DNNModel(self.cfg).fit(enc, content, verbose=False, epoch_hook=epoch_hook)
        return self

    def score(self, users, histories=None):
        return self.model.score(users, histories)


class HybridScorer:
    """The served model (``hybrid.py``): ``dnn`` (DNN config), ``tifu`` and ``ranker`` settings."""

    def __init__(self, dnn: dict | None = None, tifu: dict | None = None, ranker: dict | None = None, seed: int = 0,
                 **_):
        self.cfg = Config.from_dict({**(dnn or {}), "seed": seed})
        self.tifu, self.ranker = tifu, ranker

    def fit(self, enc, content, epoch_hook=None):
        self.model = HybridModel(self.cfg, self.tifu, self.ranker).fit(enc, content)
        return self

    def score(self, users, histories=None):
        return self.model.score(users, histories)


MODELS = {"dnn": DNNScorer, "tifu": TIFUKNN, "hybrid": HybridScorer, **BASELINES}
EPOCH_MODELS = {"dnn", "gru", "bpr"}


@dataclass
class EvalSet:
    mode: str
    users: np.ndarray  # user index per row (0 for sessions)
    histories: list | None  # item-index prefixes (session mode)
    targets: list  # arrays of item indices per row
    seen: list  # arrays of item indices "already had" per row (excluded with repeat=False)
    n_dropped_targets: int = 0
    n_targets: int = 0


@dataclass
class Prepared:
    enc: Encoded
    content: ItemContent
    ev: EvalSet
    info: dict = field(default_factory=dict)


def prepare(inter: pd.DataFrame, items: pd.DataFrame, cut, end, mode: str = "user",
            target_events=("purchase",), max_users: int | None = None, seed: int = 0,
            content_kw: dict | None = None) -> Prepared:
    cut, end = pd.Timestamp(cut), pd.Timestamp(end)
    train = inter[inter["timestamp"] < cut]
    window = inter[(inter["timestamp"] >= cut) & (inter["timestamp"] < end)]
    known_items = set(train["item_id"])
    cat = items[items["item_id"].isin(known_items)] if len(items) else items
    enc = encode(train, cat)
    content = build_content(enc.item_ids, cat, **(content_kw or {}))
    ii = enc.item_index
    rng = np.random.default_rng(seed)
    if mode == "user":
        tw = window[window["event"].isin(target_events) & window["user_id"].isin(enc.user_index)]
        tt = train[train["event"].isin(target_events)]
        had = tt.groupby("user_id")["item_id"].agg(lambda s: np.unique([ii[x] for x in s]))
        users, targets, seen = [], [], []
        dropped = total = 0
        for uid, g in tw.groupby("user_id", sort=True):
            t = [ii[x] for x in pd.unique(g["item_id"]) if x in ii]
            total += g["item_id"].nunique()
            dropped += g["item_id"].nunique() - len(t)
            if not t:
                continue
            users.append(enc.user_index[uid])
            targets.append(np.array(sorted(set(t)), np.int64))
            seen.append(had.get(uid, np.zeros(0, np.int64)))
        users = np.array(users, np.int64)
        if max_users and len(users) > max_users:
            pick = np.sort(rng.choice(len(users), max_users, replace=False))
            users = users[pick]
            targets = [targets[k] for k in pick]
            seen = [seen[k] for k in pick]
        ev = EvalSet("user", users, None, targets, seen, dropped, total)
    else:
        sess = window[window["user_id"].str.startswith(SESSION_PREFIX)]
        first = inter.groupby("user_id")["timestamp"].min()
        sess = sess[sess["user_id"].map(first) >= cut]
        hists, targets, seen = [], [], []
        dropped = total = 0
        for _, g in sess.groupby("user_id", sort=True):
            seq = [ii.get(x, 0) for x in g.sort_values("timestamp", kind="stable")["item_id"]]
            for p in range(1, len(seq)):
                total += 1
                if seq[p] == 0:
                    dropped += 1
                    continue
                h = [x for x in seq[:p] if x > 0]
                if not h:
                    continue
                hists.append(h)
                targets.append(np.array([seq[p]], np.int64))
                seen.append(np.array(sorted(set(h)), np.int64))
        if max_users and len(hists) > max_users:
            pick = np.sort(rng.choice(len(hists), max_users, replace=False))
            hists = [hists[k] for k in pick]
            targets = [targets[k] for k in pick]
            seen = [seen[k] for k in pick]
        ev = EvalSet("session", np.zeros(len(hists), np.int64), hists, targets, seen, dropped, total)
    info = {"train_events": len(train), "train_users": enc.n_users - 1, "catalog": enc.n_items - 1,
            "eval_rows": len(ev.targets), "targets_total": ev.n_targets, "targets_not_in_catalog": ev.n_dropped_targets}
    return Prepared(enc, content, ev, info)


def _rank_metrics(s: np.ndarray, T: np.ndarray, k: int = 10) -> tuple:
    """One row of scores (excluded items already -inf) and its targets."""
    valid = np.isfinite(s)
    top = np.argpartition(-s, 19)[:20] if len(s) > 20 else np.arange(len(s))
    top = top[np.argsort(-s[top], kind="stable")]
    top = top[np.isfinite(s[top])]
    hit = np.isin(top, T)
    h10 = hit[:k]
    dcg = float((h10 / np.log2(np.arange(2, len(h10) + 2))).sum())
    idcg = float((1 / np.log2(np.arange(2, min(len(T), k) + 2))).sum())
    st = s[T]
    best = st.max()
    n_gt = int((s > best).sum())
    n_eq = int((s == best).sum())
    rank = n_gt + (n_eq + 1) / 2.0
    neg = s[valid].copy()
    neg_mask = np.ones(len(s), bool)
    neg_mask[T] = False
    neg = np.sort(s[valid & neg_mask])
    if len(neg):
        lo = np.searchsorted(neg, st, "left")
        hi = np.searchsorted(neg, st, "right")
        auc = float(((lo + hi) / 2.0).mean() / len(neg))
    else:
        auc = math.nan
    return float(h10.any()), dcg / idcg, float(hit.sum() / len(T)), 1.0 / rank, auc, top[:k]


def evaluate(model, prep: Prepared, repeat: bool, batch: int = 512, per_row: bool = False) -> dict:
    """The metrics of ``model`` on ``prep``'s targets; ``per_row``: also each row's NDCG@10 (``NDCG@10_rows``, in
    the order of ``prep.ev``, rows without a target left out), for paired comparisons of two models."""
    ev = prep.ev
    n_items = prep.enc.n_items
    rows = []
    covered = np.zeros(n_items, bool)
    for b0 in range(0, len(ev.targets), batch):
        sl = slice(b0, b0 + batch)
        hs = ev.histories[sl] if ev.histories is not None else None
        S = np.asarray(model.score(ev.users[sl], hs), dtype=np.float64)
        S[:, 0] = -np.inf
        for r in range(S.shape[0]):
            j = b0 + r
            T = ev.targets[j]
            s = S[r]
            if not repeat:
                if len(ev.seen[j]):
                    s[ev.seen[j]] = -np.inf
                T = T[~np.isin(T, ev.seen[j])]
            if len(T) == 0:
                continue
            *m, top = _rank_metrics(s, T)
            covered[top] = True
            new = float(np.isin(top, ev.seen[j], invert=True).mean()) if len(top) else np.nan
            rows.append(m + [new])
    a = np.array(rows) if rows else np.full((1, 6), np.nan)
    out = {"HR@10": float(np.mean(a[:, 0])), "NDCG@10": float(np.mean(a[:, 1])), "Recall@20": float(np.mean(a[:, 2])),
           "MRR": float(np.mean(a[:, 3])), "AUC": float(np.nanmean(a[:, 4])), "coverage": float(covered[1:].mean()),
           "new@10": float(np.nanmean(a[:, 5])), "n": len(rows)}
    if per_row:
        out["NDCG@10_rows"] = a[:, 1].copy() if rows else np.zeros(0)
    return out


def make(name: str, params: dict, seed: int):
    p = dict(params)
    p["seed"] = seed
    return MODELS[name](**p)


def tune_and_test(name: str, grid: list, val: Prepared, test: Prepared, seeds=(0, 1, 2), settings=(True, False),
                  eval_every: int = 2, log=print) -> list:
    """Pick each setting's best configuration on validation, then test it over seeds. Returns result rows."""
    cands = []  # (params, metrics per setting)
    for params in grid:
        t0 = time.time()
        if name in EPOCH_MODELS:
            max_ep = params["epochs"]
            found = []

            def hook(m, epoch, params=params, found=found):
                if epoch % eval_every == 0 or epoch == max_ep:
                    scorer = _Wrap(m)
                    res = {rep: evaluate(scorer, val, rep) for rep in settings}
                    found.append(({**params, "epochs": epoch}, res))
                    log(f"  [{name}] val {params} epoch {epoch}: "
                        + ", ".join(f"repeat={rep} NDCG@10={res[rep]['NDCG@10']:.4f}" for rep in settings))

            make(name, params, 0).fit(val.enc, val.content, epoch_hook=hook)
            cands += found
        else:
            m = make(name, params, 0).fit(val.enc, val.content)
            res = {rep: evaluate(m, val, rep) for rep in settings}
            cands.append((params, res))
            log(f"  [{name}] val {params}: " + ", ".join(
                f"repeat={rep} NDCG@10={res[rep]['NDCG@10']:.4f}" for rep in settings))
        log(f"  [{name}] ({time.time() - t0:.0f}s)")
    chosen = {}
    for rep in settings:
        best = max(cands, key=lambda c: c[1][rep]["NDCG@10"])
        chosen.setdefault(repr(sorted(best[0].items())), (best[0], []))[1].append((rep, best[1][rep]))
    deterministic = name in DETERMINISTIC
    out = []
    for _, (params, reps) in chosen.items():
        out += rows_on_test(name, params, reps, lambda seed, p=params: make(name, p, seed).fit(test.enc, test.content),
                         test, seeds[:1] if deterministic else seeds, log)
    return out


METRIC_KEYS = ["HR@10", "NDCG@10", "Recall@20", "MRR", "AUC", "coverage", "new@10"]
DETERMINISTIC = ("popularity", "itemknn", "tifu")


def rows_on_test(name: str, params: dict, reps: list, fit, test: Prepared, seeds, log=print) -> list:
    """Fit the chosen configuration once per seed (``fit(seed)`` -> scorer), evaluate it on test in each repeat
    setting of ``reps`` (``[(repeat, validation metrics)]``) and return one result row per setting."""
    per_seed = {rep: [] for rep, _ in reps}
    fit_s = []
    for seed in seeds:
        t0 = time.time()
        m = fit(seed)
        fit_s.append(time.time() - t0)
        for rep, _ in reps:
            per_seed[rep].append(evaluate(m, test, rep))
        log(f"  [{name}] test seed {seed} {params}: " + ", ".join(
            f"repeat={rep} NDCG@10={per_seed[rep][-1]['NDCG@10']:.4f}" for rep, _ in reps))
    out = []
    for rep, vres in reps:
        row = {"model": name, "repeat": rep, "params": params, "val_NDCG@10": vres["NDCG@10"],
               "n_seeds": len(per_seed[rep]), "n_eval": per_seed[rep][0]["n"], "fit_s": float(np.mean(fit_s))}
        for k in METRIC_KEYS:
            v = np.array([r[k] for r in per_seed[rep]])
            row[k] = float(v.mean())
            row[k + "_sd"] = float(v.std())
        out.append(row)
    return out


class _Wrap:
    def __init__(self, m):
        self.m = m

    def score(self, users, histories=None):
        return self.m.score(users, histories)
