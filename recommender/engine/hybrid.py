"""The served model: TIFU-KNN, the DNN and item-kNN propose, a LightGBM LambdaRank model trained in time order
decides.

Two stages, as in most production recommenders:

1. **Candidates** per user: the ``candidates`` best items of each of TIFU-KNN (``tifu.py``), the two-tower DNN
   (``dnn.py``) and item-kNN on co-purchases (``baselines.ItemKNN``), plus optionally the
   ``popular_candidates`` items most users bought in the last 30 days. With ``Config.repeat`` off, items the
   user purchased are never candidates.
2. **Re-ranking** of the candidates by gradient-boosted trees (LightGBM, LambdaRank objective = NDCG) over the
   three models' opinions (TIFU-KNN's own-vector and neighbour terms and rank, the DNN's log-probability and
   rank, item-kNN's score and rank) and repeat-purchase signals (``signals.py``: how often and how long ago the
   user had the item and their usual interval; the item's buyers, trend, repeat rate and age; the user's
   activity). Items outside the candidates rank below them, in TIFU-KNN's order.

The re-ranker learns from the training data only, in time order ("windows"): for ``j = 0..windows-1`` the three
models are fitted on the events before ``now - (j + 1) * label_days``, and the re-ranker learns which of their
candidates each user then bought in the following ``label_days``. The models are then refitted on everything
and the re-ranker scores their candidates "now". The re-ranker's settings and those of the models are chosen on
a validation period (RESULTS.md); the defaults are Online Retail's.

A user without purchases in the windows, a new user or an anonymous session (``histories``) gets no re-ranking:
sessions get ``(1 - w) * DNN probability + w * TIFU-KNN share`` with ``w = session_tifu_weight`` (the API's
``score`` is then that blend, renormalised over the allowed items). With too
little data for the re-ranker (fewer than ``min_label_users`` buyers in every window), known users get that
blend too.

Cost: ``windows + 1`` fits of the DNN and TIFU-KNN (the DNN dominates), then LightGBM on a few hundred thousand
candidate rows (seconds).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from mlcore.config import EngineConfig

from .baselines import ItemKNN
from .config import Config
from .data import Encoded
from .dnn import DNNModel
from .errors import RecommenderInputError
from .features import ItemContent
from .sequences import DAY
from .signals import FEATURES as SIGNAL_FEATURES
from .signals import Signals
from .tifu import TIFUKNN, TifuParams, baskets

MODEL_FEATURES = ["tifu_own", "tifu_nbr", "tifu", "tifu_rank", "dnn_logp", "dnn_rank", "knn", "knn_rank"]
FEATURES = MODEL_FEATURES + SIGNAL_FEATURES
EVENT_CODES = {"view": 0, "cart": 1, "purchase": 2}


@dataclass
class RankerParams(EngineConfig):
    """Settings of the re-ranking stage (defaults: chosen on Online Retail's validation month, RESULTS.md)."""

    error: ClassVar[type[Exception]] = RecommenderInputError

    windows: int = 2  # label windows the re-ranker learns from (each costs one more fit of the models)
    label_days: float = 30.0  # length of a label window
    label_events: list = field(default_factory=lambda: ["purchase"])  # what counts as "bought" in a window
    candidates: int = 100  # per model and user
    popular_candidates: int = 0  # recent best sellers added to every user's candidates
    item_neighbours: int = 20  # item-kNN neighbourhood (20 won on validation for item-kNN itself)
    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 20
    subsample: float = 0.8
    colsample: float = 0.8
    session_tifu_weight: float = 0.5  # sessions / new users: weight of TIFU-KNN against the DNN
    min_label_users: int = 20  # a window with fewer buyers is skipped; no usable window: no re-ranker

    def validate(self) -> None:
        problems = []
        for name in ("windows", "candidates", "n_estimators", "num_leaves", "min_child_samples", "item_neighbours"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("popular_candidates", "min_label_users"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not self.label_days > 0:
            problems.append(f"label_days must be > 0, got {self.label_days!r}")
        if not self.label_events or any(e not in EVENT_CODES for e in self.label_events):
            problems.append(f"label_events must be a non-empty list of {', '.join(EVENT_CODES)}, got "
                            f"{self.label_events!r}")
        for name in ("learning_rate", "subsample", "colsample"):
            if not 0 < getattr(self, name) <= 1:
                problems.append(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        if not 0 <= self.session_tifu_weight <= 1:
            problems.append(f"session_tifu_weight must be in [0, 1], got {self.session_tifu_weight!r}")
        if problems:
            raise self.error("ranker: " + "; ".join(problems))


def until(enc: Encoded, t_cut: float) -> Encoded:
    """The events strictly before ``t_cut``, in the same id space (same item and user indices)."""
    sel = enc.t < t_cut
    return Encoded(item_ids=enc.item_ids, user_ids=enc.user_ids, u=enc.u[sel], i=enc.i[sel], t=enc.t[sel],
                   e=enc.e[sel], q=enc.q[sel], t_end=float(enc.t[sel].max()) if sel.any() else t_cut,
                   item_index=enc.item_index, user_index=enc.user_index)


def purchased_matrix(enc: Encoded) -> sp.csr_matrix:
    """(n_users, n_items) 1 where the user purchased the item."""
    p = enc.e == 2
    M = sp.csr_matrix((np.ones(int(p.sum()), np.float32), (enc.u[p], enc.i[p])), shape=(enc.n_users, enc.n_items))
    M.sum_duplicates()
    M.data[:] = 1.0
    return M


def log_softmax(S: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax; -inf entries stay -inf (and take no probability)."""
    S = np.asarray(S, np.float64)
    fin = np.isfinite(S)
    m = np.max(np.where(fin, S, -np.inf), 1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    z = np.where(fin, np.exp(np.where(fin, S - m, 0.0)), 0.0).sum(1, keepdims=True)
    return np.where(fin, S - m - np.log(np.maximum(z, 1e-300)), -np.inf)


def _ranks(S: np.ndarray) -> np.ndarray:
    """1 = best per row (ties by column index)."""
    order = np.argsort(-S, axis=1, kind="stable")
    r = np.empty_like(order)
    np.put_along_axis(r, order, np.arange(1, S.shape[1] + 1)[None, :], 1)
    return r


def _batch(n_items: int) -> int:
    """Users per batch so that each of the dozen (users x items) arrays of a batch stays near 32 MB."""
    return int(np.clip(4_000_000 // max(n_items, 1), 1, 512))


def _top(S: np.ndarray, k: int) -> np.ndarray:
    k = min(k, S.shape[1])
    return np.argpartition(-S, k - 1, axis=1)[:, :k] if k else np.zeros((len(S), 0), np.int64)


def _events_of(dnn: DNNModel) -> Encoded:
    """The training events the DNN keeps (sorted by user and time), as an id-less Encoded."""
    seq = dnn.seq
    return Encoded(item_ids=[None] * dnn.n_items, user_ids=[None] * dnn.n_users, u=seq.u, i=seq.i, t=seq.t, e=seq.e,
                   q=np.ones(len(seq.u)), t_end=dnn.t_end)


class _Stage:
    """The three models and the signals of one period; the candidates and features they give for users."""

    def __init__(self, enc: Encoded, tifu: TIFUKNN, dnn: DNNModel, cfg: Config, rp: RankerParams):
        self.enc, self.tifu, self.dnn, self.cfg, self.rp = enc, tifu, dnn, cfg, rp
        ew = cfg.event_weights
        self.knn = ItemKNN(neighbours=rp.item_neighbours, event_weights=ew).fit(enc)
        self.signals = Signals(enc, baskets(enc, tifu.params.basket_gap_hours, ew))
        self.purchased = purchased_matrix(enc)
        pop30 = self.signals.i_users_30.copy()
        pop30[0] = -1
        self.popular = np.argsort(-pop30, kind="stable")[: rp.popular_candidates]

    @classmethod
    def fit(cls, enc: Encoded, content: ItemContent, cfg: Config, tp: TifuParams, rp: RankerParams, progress=None):
        tifu = TIFUKNN(event_weights=cfg.event_weights, **tp.to_dict()).fit(enc)
        dnn = DNNModel(cfg).fit(enc, content, progress=progress, verbose=False)
        return cls(_events_of(dnn), tifu, dnn, cfg, rp)  # the same event arrays a loaded artifact rebuilds from

    def candidates_and_features(self, users: np.ndarray, allowed: np.ndarray | None = None):
        """For a batch of known users: (rows, items, X, fallback); ``rows`` index ``users``; ``fallback`` (B, n)
        orders the non-candidates (TIFU-KNN's score; -inf where never allowed)."""
        n = self.enc.n_items
        P = self.tifu.predict_vectors(users)
        own = np.asarray(self.tifu.V[users].todense(), np.float64)
        tifu_s = np.where(P > 0, P, self.tifu.pop[None, :] - 1.0)
        D = self.dnn.score_users(users).astype(np.float64)
        K = self.knn.score(users).astype(np.float64)
        mask = np.zeros((len(users), n), bool)
        mask[:, 0] = True
        if allowed is not None:
            mask[:, ~allowed] = True
        if not self.cfg.repeat:
            mask[self.purchased[users].nonzero()] = True
        for S in (tifu_s, D, K):
            S[mask] = -np.inf
        logp = log_softmax(D)
        cand = np.zeros((len(users), n), bool)
        k = self.rp.candidates
        for S in (tifu_s, D, K):
            np.put_along_axis(cand, _top(S, k), True, 1)
        cand[:, self.popular] = True
        cand &= ~mask
        rows, items = np.nonzero(cand)
        a = self.tifu.params.alpha
        nbr = (P - a * own) / (1 - a) if a < 1 else np.zeros_like(P)
        t_rank, d_rank, k_rank = _ranks(tifu_s), _ranks(D), _ranks(K)
        X_models = np.stack([own[rows, items], nbr[rows, items], P[rows, items], np.log(t_rank[rows, items]),
                             logp[rows, items], np.log(d_rank[rows, items]), K[rows, items],
                             np.log(k_rank[rows, items])], 1)
        X = np.concatenate([X_models.astype(np.float32), self.signals.features(users[rows], items)], 1)
        return rows, items, X, tifu_s


class _Progress:
    """Counts DNN epochs over the stages of a hybrid fit for one ``progress(epoch, metrics)`` callback."""

    def __init__(self, progress, total: int):
        self.progress, self.total, self.done = progress, total, 0

    def stage(self, name: str):
        if self.progress is None:
            return None

        def cb(epoch, metrics):
            self.done += 1
            self.progress(self.done, {**metrics, "epochs": self.total, "stage": name})
        return cb


class HybridModel:
    """Fit / score like every model of the benchmark; ``state`` / ``from_state`` for the artifact."""

    def __init__(self, cfg: Config, tifu: TifuParams | dict | None = None, ranker: RankerParams | dict | None = None):
        self.cfg = cfg
        self.tp = TifuParams.from_dict(tifu)
        self.rp = RankerParams.from_dict(ranker)
        self.booster = None
        self.ranker_data: dict = {}

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, enc: Encoded, content: ItemContent, progress=None, log=None):
        """``progress(epoch, metrics)`` (the engines' convention) after every DNN epoch of every stage: ``epoch``
        counts the epochs of all DNN fits (one per usable label window, then the final one) from 1,
        ``metrics["epochs"]`` is their total, ``stage`` says which fit ("window 1/3", ..., "final"); the DNN's own
        metrics (``train_loss``, ``seconds``) follow."""
        plan = self.plan(enc)
        counter = _Progress(progress, (sum(p is not None for p in plan) + 1) * self.cfg.epochs)
        self.train(self.training_windows(enc, content, counter, log, plan))
        self.stage = _Stage.fit(enc, content, self.cfg, self.tp, self.rp, counter.stage("final"))
        return self

    def plan(self, enc: Encoded) -> list:
        """Per label window (newest first): ``(t_lo, t_hi, buyers with a history before t_lo)``, or None when
        there are fewer than ``min_label_users`` such buyers (the window is skipped)."""
        rp = self.rp
        codes = np.array([EVENT_CODES[e] for e in rp.label_events])
        out = []
        for j in range(rp.windows):
            t_hi = enc.t_end - j * rp.label_days * DAY
            t_lo = t_hi - rp.label_days * DAY
            known = np.zeros(enc.n_users, bool)
            known[enc.u[enc.t < t_lo]] = True
            buyers = np.unique(enc.u[(enc.t >= t_lo) & (enc.t < t_hi) & np.isin(enc.e, codes)])
            buyers = buyers[known[buyers]]
            out.append((t_lo, t_hi, buyers) if len(buyers) >= max(rp.min_label_users, 1) else None)
        return out

    def training_windows(self, enc: Encoded, content: ItemContent, counter=None, log=None, plan=None) -> list:
        """For each label window (newest first): the re-ranker's rows ``(X, y, group sizes)`` or None when the
        window has too few buyers with a history."""
        cfg, rp = self.cfg, self.rp
        counter = counter or _Progress(None, 0)
        codes = np.array([EVENT_CODES[e] for e in rp.label_events])
        out = []
        for j, p in enumerate(plan if plan is not None else self.plan(enc)):
            name = f"window {j + 1}/{rp.windows}"
            if p is None:
                if log:
                    log(f"{name}: fewer than {rp.min_label_users} buyers with a history, skipped")
                out.append(None)
                continue
            t_lo, t_hi, label_users = p
            t0 = time.time()
            stage = _Stage.fit(until(enc, t_lo), content, cfg, self.tp, rp, counter.stage(name))
            win = (enc.t >= t_lo) & (enc.t < t_hi) & np.isin(enc.e, codes)
            Y = sp.csr_matrix((np.ones(int(win.sum()), np.float32), (enc.u[win], enc.i[win])),
                              shape=(enc.n_users, enc.n_items))
            Xs, ys, groups = [], [], []
            step = _batch(enc.n_items)
            for b0 in range(0, len(label_users), step):
                ub = label_users[b0: b0 + step]
                rows, items, X, _ = stage.candidates_and_features(ub)
                y = (np.asarray(Y[ub[rows], items]).ravel() > 0).astype(np.float32)
                size = np.bincount(rows, minlength=len(ub))
                pos = np.bincount(rows, weights=y, minlength=len(ub))
                keep = (pos > 0)[rows]  # a user none of whose purchases was a candidate teaches nothing
                Xs.append(X[keep])
                ys.append(y[keep])
                groups += size[pos > 0].tolist()
            out.append((np.concatenate(Xs), np.concatenate(ys), groups))
            if log:
                log(f"{name}: {len(groups)} users with a purchase among their candidates ({time.time() - t0:.0f}s)")
        return out

    def train(self, windows: list) -> None:
        """Train the re-ranker on the first ``ranker.windows`` of ``training_windows``' rows (none usable: no
        re-ranker, the blend serves)."""
        use = [w for w in windows[: self.rp.windows] if w is not None]
        groups = [g for w in use for g in w[2]]
        self.booster = None
        self.ranker_data = {"windows": len(use), "users": len(groups), "rows": 0, "positives": 0}
        if len(groups) >= max(self.rp.min_label_users, 1):
            X, y = np.concatenate([w[0] for w in use]), np.concatenate([w[1] for w in use])
            self.booster = self._train_ranker(X, y, groups)
            self.ranker_data.update(rows=int(len(y)), positives=int(y.sum()))

    def _train_ranker(self, X, y, groups):
        import lightgbm as lgb

        rp = self.rp
        ranker = lgb.LGBMRanker(
            objective="lambdarank", n_estimators=rp.n_estimators, learning_rate=rp.learning_rate,
            num_leaves=rp.num_leaves, min_child_samples=rp.min_child_samples, subsample=rp.subsample,
            subsample_freq=1, colsample_bytree=rp.colsample, random_state=self.cfg.seed,
            n_jobs=self.cfg.threads or 1, deterministic=True, force_row_wise=True, verbose=-1)
        ranker.fit(X, y, group=groups, feature_name=FEATURES)
        return ranker.booster_

    # -- serving ----------------------------------------------------------------------------------------------
    @property
    def dnn(self) -> DNNModel:
        return self.stage.dnn

    @property
    def tifu(self) -> TIFUKNN:
        return self.stage.tifu

    @property
    def knn(self) -> ItemKNN:
        return self.stage.knn

    def score_users(self, users: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        """(B, n_items) scores of known users (higher is better): the re-ranked candidates above everything
        else; -inf where ``allowed`` is False (and, with ``repeat`` off, on purchased items)."""
        users = np.asarray(users, np.int64)
        step = _batch(self.stage.enc.n_items)
        if len(users) > step:
            return np.concatenate([self.score_users(users[b0: b0 + step], allowed)
                                   for b0 in range(0, len(users), step)])
        if self.booster is None:
            out = self._blend(self.stage.dnn.score_users(users), self.stage.tifu.predict_vectors(users))
            if allowed is not None:
                out[:, ~allowed] = -np.inf
            if not self.cfg.repeat:
                out[self.stage.purchased[users].nonzero()] = -np.inf
            return out
        rows, items, X, out = self.stage.candidates_and_features(users, allowed)
        if len(rows):
            top = np.max(np.where(np.isfinite(out), out, -np.inf), 1)
            top = np.where(np.isfinite(top), np.maximum(top, 0.0), 0.0)
            s = self.booster.predict(X, num_threads=self.cfg.threads or 1).astype(np.float64)
            lo = np.full(len(users), np.inf)
            np.minimum.at(lo, rows, s)
            out[rows, items] = top[rows] + 1.0 + (s - lo[rows])
        return out

    def _blend(self, dnn_scores: np.ndarray, tifu_p: np.ndarray) -> np.ndarray:
        """log((1 - w) * DNN probability + w * TIFU-KNN share): a softmax of it gives back the blend."""
        w = self.rp.session_tifu_weight
        p_dnn = np.exp(log_softmax(dnn_scores))
        share = tifu_p / np.maximum(tifu_p.sum(1, keepdims=True), 1e-12)
        with np.errstate(divide="ignore"):
            out = np.log((1 - w) * p_dnn + w * share)
        out[:, 0] = -np.inf
        return out

    def score_sessions(self, histories: list, event: str = "view") -> np.ndarray:
        return self._blend(self.stage.dnn.score_sessions(histories, event),
                           self.stage.tifu.predict_vectors(histories=histories, event=event))

    def score(self, users, histories=None):
        """The benchmark's scorer interface."""
        if histories is None:
            return self.score_users(users)
        return self.score_sessions(histories)

    def co_purchase(self) -> sp.csr_matrix:
        """Item x item cosine of the items' purchaser sets (each customer counted once per item; every event
        type when nothing was purchased), zero diagonal. Built from the training events on first use."""
        if getattr(self, "_co", None) is None:
            enc = self.stage.enc
            sel = enc.e == 2 if (enc.e == 2).any() else np.ones(len(enc.e), bool)
            B = sp.csr_matrix((np.ones(int(sel.sum()), np.float32), (enc.u[sel], enc.i[sel])),
                              shape=(enc.n_users, enc.n_items))
            B.sum_duplicates()
            B.data[:] = 1.0
            C = (B.T @ B).tocsr()
            norms = np.sqrt(np.maximum(C.diagonal(), 1e-9))
            C = (sp.diags(1 / norms) @ C @ sp.diags(1 / norms)).tocsr()
            C.setdiag(0)
            C.eliminate_zeros()
            C.sort_indices()
            self._co = C
        return self._co

    # -- state ------------------------------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything but the DNN (the artifact keeps that) and what is rebuilt from its event log on load."""
        return {"tifu_params": self.tp.to_dict(), "ranker_params": self.rp.to_dict(), "tifu": self.tifu.state(),
                "booster": self.booster.model_to_string() if self.booster is not None else "",
                "ranker_data": dict(self.ranker_data)}

    @classmethod
    def from_state(cls, cfg: Config, state: dict, dnn: DNNModel) -> "HybridModel":
        import lightgbm as lgb

        m = cls(cfg, state["tifu_params"], state["ranker_params"])
        m.stage = _Stage(_events_of(dnn), TIFUKNN.from_state(state["tifu"]), dnn, cfg, m.rp)
        m.booster = lgb.Booster(model_str=state["booster"]) if state["booster"] else None
        m.ranker_data = state.get("ranker_data", {})
        return m
