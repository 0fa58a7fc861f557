"""TIFU-KNN: the repeat-aware, time-decayed user-neighbour baseline.

Hu, He, Gao, Sun and Liang, "Modeling Personalized Item Frequency Information for Next-basket Recommendation"
(SIGIR 2020); Li, Jannach, ... "A Next Basket Recommendation Reality Check" (TOIS 2023) found it at or near the
top of the next-basket benchmarks, above most deep models, wherever customers re-buy. Pure numpy / scipy.

How a customer is described (the paper's "personalized item frequency" vector, our reading):

* **Baskets.** A user's events in time order, cut into baskets where two consecutive events are more than
  ``basket_gap_hours`` apart (an Online Retail invoice is one timestamp, so one basket; in a shop, a visit).
  The basket vector holds, per item, the largest event weight the item had in the basket (purchase 1.0, cart
  0.5, view 0.2 by default; with purchases only it is the paper's binary basket).
* **Groups.** The user's ``n`` baskets are split, from the newest backwards, into ``k = ceil(n / m)`` groups of
  ``m = group_size`` consecutive baskets; the newest group is full, the oldest may be shorter.
* **Within-group decay.** A group vector is the mean of its basket vectors, the basket at position ``q`` from
  the group's newest (``q = 0..m-1``) weighted ``within_decay ** q`` (the paper's ``r_b^(m-j)``).
* **Across-group decay.** The user vector is the mean of the group vectors, the group at position ``g`` from the
  newest weighted ``group_decay ** g`` (the paper's ``r_g^(k-i)``).
* **Neighbours.** The ``neighbours`` users whose vectors are nearest (Euclidean distance as in the paper, or
  cosine), the user themselves excluded (their own vector is the first term below), ties broken by user index.
* **Prediction.** ``P(u) = alpha * v(u) + (1 - alpha) * mean(v(n) for n in neighbours(u))``; items are ranked
  by ``P``; items with ``P = 0`` follow, ordered by all-time popularity.

A new user or anonymous session (``histories``) is one basket of its items; its neighbours are found among
the training users the same way. Every hyper-parameter is chosen on a validation period only
(``search.tune_tifu``: coordinate ascent on NDCG@10; RESULTS.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from mlcore.config import EngineConfig

from .data import Encoded
from .errors import RecommenderInputError
from .sequences import event_weight_array

DEFAULT_EW = {"view": 0.2, "cart": 0.5, "purchase": 1.0}
METRICS = ("euclidean", "cosine")


@dataclass
class TifuParams(EngineConfig):
    """Hyper-parameters of TIFU-KNN (defaults: chosen on Online Retail's validation month, see RESULTS.md)."""

    error: ClassVar[type[Exception]] = RecommenderInputError

    group_size: int = 3  # m: baskets per group
    within_decay: float = 1.0  # r_b: weight of a basket per step back inside its group
    group_decay: float = 0.6  # r_g: weight of a group per step back
    neighbours: int = 500  # k nearest users
    alpha: float = 0.4  # weight of the user's own vector against the neighbours' mean
    metric: str = "euclidean"  # "euclidean" (the paper) or "cosine"
    basket_gap_hours: float = 1.0  # a new basket starts after this gap between two events of a user

    def validate(self) -> None:
        problems = []
        if self.group_size < 1:
            problems.append(f"group_size must be >= 1, got {self.group_size!r}")
        for name in ("within_decay", "group_decay"):
            if not 0 < getattr(self, name) <= 1:
                problems.append(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        if self.neighbours < 0:
            problems.append(f"neighbours must be >= 0, got {self.neighbours!r}")
        if not 0 <= self.alpha <= 1:
            problems.append(f"alpha must be in [0, 1], got {self.alpha!r}")
        if self.basket_gap_hours < 0:
            problems.append(f"basket_gap_hours must be >= 0, got {self.basket_gap_hours!r}")
        if problems:
            raise self.error("TIFU-KNN: " + "; ".join(problems))
        self.choice("metric", METRICS)


@dataclass
class Baskets:
    """Basket contents as (basket, item, weight) entries; baskets numbered per user in time order."""

    user: np.ndarray  # (n_baskets,) user index of each basket
    from_end: np.ndarray  # (n_baskets,) 0 = the user's newest basket
    time: np.ndarray  # (n_baskets,) time of the basket's first event (seconds)
    n_of_user: np.ndarray  # (n_baskets,) number of baskets of that basket's user
    entry_basket: np.ndarray  # (n_entries,)
    entry_item: np.ndarray
    entry_weight: np.ndarray


def baskets(enc: Encoded, gap_hours: float, event_weights: dict | None = None) -> Baskets:
    """Cut every user's events into baskets (see the module docstring). Events of weight 0 are ignored."""
    ew = event_weight_array(event_weights or DEFAULT_EW)
    w = ew[enc.e].astype(np.float64)
    keep = (w > 0) & (enc.u > 0) & (enc.i > 0)
    u, i, t, w = enc.u[keep], enc.i[keep], enc.t[keep], w[keep]
    order = np.lexsort((t, u))
    u, i, t, w = u[order], i[order], t[order], w[order]
    if len(u) == 0:
        z = np.zeros(0, np.int64)
        return Baskets(z, z, np.zeros(0), z, z, z, np.zeros(0))
    new = np.ones(len(u), bool)
    new[1:] = (u[1:] != u[:-1]) | ((t[1:] - t[:-1]) > gap_hours * 3600.0)
    b = np.cumsum(new) - 1
    b_user = u[new]
    n_b = len(b_user)
    per_user = np.bincount(b_user)
    last_of_user = np.cumsum(per_user) - 1  # baskets are numbered user by user
    from_end = last_of_user[b_user] - np.arange(n_b)
    # one entry per (basket, item): the largest event weight of the item in the basket
    o = np.lexsort((-w, i, b))
    b2, i2, w2 = b[o], i[o], w[o]
    first = np.ones(len(b2), bool)
    first[1:] = (b2[1:] != b2[:-1]) | (i2[1:] != i2[:-1])
    return Baskets(b_user, from_end, t[new], per_user[b_user], b2[first], i2[first], w2[first])


def user_vectors(bk: Baskets, n_users: int, n_items: int, group_size: int, within_decay: float,
                 group_decay: float) -> sp.csr_matrix:
    """The time-decayed frequency vector of every user, (n_users, n_items) CSR (rows of unseen users empty)."""
    m = int(group_size)
    g = bk.from_end // m  # group index from the newest
    q = bk.from_end % m  # position inside the group from its newest basket
    n_groups = -(-bk.n_of_user // m)
    size = np.minimum(m, bk.n_of_user - g * m)  # the oldest group may be short
    factor = within_decay ** q.astype(np.float64) / size * group_decay ** g.astype(np.float64) / n_groups
    val = bk.entry_weight * factor[bk.entry_basket]
    V = sp.csr_matrix((val, (bk.user[bk.entry_basket], bk.entry_item)), shape=(n_users, n_items))
    V.sum_duplicates()
    return V


def history_vectors(histories: list, n_items: int, weight: float = 1.0) -> sp.csr_matrix:
    """Each history (a list of item indices) as one basket: the vector of a new user or anonymous session."""
    rows, cols = [], []
    for r, h in enumerate(histories):
        items = sorted({int(x) for x in h if 0 < int(x) < n_items})
        rows += [r] * len(items)
        cols += items
    return sp.csr_matrix((np.full(len(rows), float(weight)), (rows, cols)), shape=(len(histories), n_items))


def nearest(Q: sp.csr_matrix, V: sp.csr_matrix, k: int, metric: str = "euclidean", self_index=None,
            candidates: np.ndarray | None = None, block_cells: int = 5_000_000) -> np.ndarray:
    """Indices (len(Q), k') of the k nearest rows of V for every row of Q, nearest first, ties by row index.

    ``self_index[r]``: a row of V never to return for query r (the user themselves). ``candidates``: bool mask
    of V's rows that may be neighbours (users with a vector). Distances are computed in blocks of queries so
    memory stays at about ``block_cells`` floats.
    """
    n = V.shape[0]
    cand = np.ones(n, bool) if candidates is None else candidates.copy()
    k = int(min(k, max(int(cand.sum()) - (1 if self_index is not None else 0), 0)))
    out = np.zeros((Q.shape[0], k), np.int64)
    if k == 0 or Q.shape[0] == 0:
        return out
    VT = V.T.tocsc()
    vn2 = np.asarray(V.multiply(V).sum(1)).ravel()
    qn2 = np.asarray(Q.multiply(Q).sum(1)).ravel()
    step = max(1, block_cells // max(n, 1))
    for r0 in range(0, Q.shape[0], step):
        G = np.asarray((Q[r0: r0 + step] @ VT).todense(), np.float64)
        if metric == "cosine":
            D = -G / np.maximum(np.sqrt(qn2[r0: r0 + step, None] * vn2[None, :]), 1e-12)
        else:
            D = np.maximum(qn2[r0: r0 + step, None] + vn2[None, :] - 2.0 * G, 0.0)
        D[:, ~cand] = np.inf
        if self_index is not None:
            rows = np.arange(D.shape[0])
            D[rows, self_index[r0: r0 + step]] = np.inf
        # the k smallest, then a stable sort so equal distances keep the lower index first
        part = np.argpartition(D, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (D.shape[0], 1))
        kth = np.take_along_axis(D, part, 1).max(1)
        for r in range(D.shape[0]):
            idx = np.flatnonzero(D[r] <= kth[r])  # every tie of the k-th distance, in index order
            idx = idx[np.argsort(D[r, idx], kind="stable")][:k]
            out[r0 + r] = idx
    return out


class TIFUKNN:
    """The scorer of the benchmark (``fit(enc, content)``, ``score(users, histories)``) and of the served model."""

    def __init__(self, event_weights: dict | None = None, seed: int = 0, **params):
        self.params = TifuParams.from_dict(params)
        self.event_weights = dict(event_weights or DEFAULT_EW)

    def fit(self, enc: Encoded, content=None, epoch_hook=None, _vectors: sp.csr_matrix | None = None,
            _neighbours: np.ndarray | None = None):
        """``_vectors`` / ``_neighbours`` (a wider neighbour list, nearest first) let ``search.py`` reuse work."""
        p = self.params
        self.n_items = enc.n_items
        if _vectors is None:
            bk = baskets(enc, p.basket_gap_hours, self.event_weights)
            _vectors = user_vectors(bk, enc.n_users, enc.n_items, p.group_size, p.within_decay, p.group_decay)
        self.V = _vectors.tocsr().astype(np.float32)
        self.has_vector = np.diff(self.V.indptr) > 0
        if _neighbours is None:
            _neighbours = nearest(self.V, self.V, p.neighbours, p.metric, self_index=np.arange(self.V.shape[0]),
                                  candidates=self.has_vector)
        self.nbrs = np.ascontiguousarray(_neighbours[:, : p.neighbours])
        pop = np.asarray(self.V.astype(bool).sum(0)).ravel().astype(np.float64)
        allp = np.zeros(enc.n_items)
        ew = event_weight_array(self.event_weights)
        np.add.at(allp, enc.i, ew[enc.e])
        self.pop = (allp / max(allp.max(), 1e-12) + 1e-6 * pop / max(pop.max(), 1.0)).astype(np.float32)
        self.pop[0] = 0.0
        return self

    # -- scoring ----------------------------------------------------------------------------------------------
    def _mix(self, own: sp.csr_matrix, nbrs: np.ndarray) -> np.ndarray:
        p = self.params
        P = p.alpha * np.asarray(own.todense(), np.float64)
        if nbrs.shape[1] and p.alpha < 1:
            W = sp.csr_matrix((np.full(nbrs.size, 1.0 / nbrs.shape[1]),
                               (np.repeat(np.arange(len(nbrs)), nbrs.shape[1]), nbrs.ravel())),
                              shape=(len(nbrs), self.V.shape[0]))
            P += (1 - p.alpha) * np.asarray((W @ self.V).todense(), np.float64)
        return P

    def predict_vectors(self, users=None, histories=None, event: str = "purchase") -> np.ndarray:
        """The raw TIFU-KNN prediction P, (B, n_items) float64 (0 where nothing points at an item)."""
        if histories is None:
            users = np.asarray(users, np.int64)
            users = np.where(users < self.V.shape[0], users, 0)  # 0: unknown user, no vector
            return self._mix(self.V[users], self.nbrs[users]) * (users > 0)[:, None]
        Q = history_vectors(histories, self.n_items, self.event_weights.get(event, 1.0))
        nb = nearest(Q, self.V, self.params.neighbours, self.params.metric, candidates=self.has_vector)
        return self._mix(Q, nb)

    def score(self, users, histories=None, event: str = "purchase") -> np.ndarray:
        """P where P > 0; below every such item, the others by popularity (``pop - 1``, in [-1, 0))."""
        P = self.predict_vectors(users, histories, event)
        return np.where(P > 0, P, self.pop[None, :] - 1.0).astype(np.float32)

    # -- state ------------------------------------------------------------------------------------------------
    def state(self) -> dict:
        V = self.V.tocsr()
        return {"params": self.params.to_dict(), "event_weights": dict(self.event_weights), "n_items": self.n_items,
                "shape": list(V.shape), "data": V.data, "indices": V.indices.astype(np.int64),
                "indptr": V.indptr.astype(np.int64), "nbrs": self.nbrs, "pop": self.pop}

    @classmethod
    def from_state(cls, s: dict) -> "TIFUKNN":
        m = cls(event_weights=s["event_weights"], **s["params"])
        m.n_items = int(s["n_items"])
        m.V = sp.csr_matrix((s["data"], s["indices"], s["indptr"]), shape=tuple(s["shape"]))
        m.has_vector = np.diff(m.V.indptr) > 0
        m.nbrs = np.asarray(s["nbrs"], np.int64)
        m.pop = np.asarray(s["pop"], np.float32)
        return m


__all__ = ["TIFUKNN", "TifuParams", "Baskets", "baskets", "user_vectors", "history_vectors", "nearest"]
