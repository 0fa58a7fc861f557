"""Per (user, item) repeat-purchase signals for the served model's re-ranker, computed from events before "now".

Everything is counted in baskets (``tifu.baskets``: a user's events with gaps of at most ``basket_gap_hours``),
so one invoice of 30 lines is one shopping trip, not 30. Times are in days before ``now`` (the last training
event). Missing values (an item the user never had) are NaN, which LightGBM treats as their own branch.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .data import Encoded
from .sequences import DAY
from .tifu import Baskets

FEATURES = [
    "ui_baskets",  # baskets of the user that held the item
    "ui_share",  # ui_baskets / the user's baskets
    "ui_days_last",  # days since the user last had the item
    "ui_days_first",  # days since the user first had the item
    "ui_interval",  # mean days between the user's baskets with the item (NaN below 2)
    "ui_overdue",  # ui_days_last / ui_interval: > 1 means "due again"
    "u_baskets",  # the user's baskets
    "u_days_last",  # days since the user's last basket
    "u_days_first",  # days since the user's first basket
    "i_users",  # users who ever had the item (log1p)
    "i_users_7",  # ... in the last 7 days (log1p)
    "i_users_30",  # ... in the last 30 days (log1p)
    "i_trend",  # users in the last 30 days / users in the 30 days before (+1 smoothing)
    "i_repeat",  # share of the item's users who had it in 2+ baskets
    "i_age",  # days since the item's first event
]


class Signals:
    """Sparse (user, item) and dense per-user / per-item statistics of one training period."""

    def __init__(self, enc: Encoded, bk: Baskets):
        n_u, n_i = enc.n_users, enc.n_items
        self.now = enc.t_end
        ent_u = bk.user[bk.entry_basket]
        bt = bk.time
        days = (self.now - bt[bk.entry_basket]) / DAY
        self.ui_n = sp.csr_matrix((np.ones(len(ent_u)), (ent_u, bk.entry_item)), shape=(n_u, n_i))
        self.ui_n.sum_duplicates()
        self.ui_last = _reduce(ent_u, bk.entry_item, days, n_u, n_i, np.minimum)
        self.ui_first = _reduce(ent_u, bk.entry_item, days, n_u, n_i, np.maximum)
        u_days = (self.now - bt) / DAY
        self.u_n = np.bincount(bk.user, minlength=n_u).astype(np.float64)
        self.u_last = np.full(n_u, np.nan)
        self.u_first = np.full(n_u, np.nan)
        if len(bk.user):
            self.u_last[:] = _group(bk.user, u_days, n_u, np.minimum, np.inf)
            self.u_first[:] = _group(bk.user, u_days, n_u, np.maximum, -np.inf)
            self.u_last[~np.isfinite(self.u_last)] = np.nan
            self.u_first[~np.isfinite(self.u_first)] = np.nan
        users_of = (self.ui_n > 0).astype(np.float64)
        self.i_users = np.asarray(users_of.sum(0)).ravel()
        self.i_users_7 = _item_users(ent_u, bk.entry_item, days < 7, n_i)
        self.i_users_30 = _item_users(ent_u, bk.entry_item, days < 30, n_i)
        prev = _item_users(ent_u, bk.entry_item, (days >= 30) & (days < 60), n_i)
        self.i_trend = (self.i_users_30 + 1.0) / (prev + 1.0)
        rep = (self.ui_n >= 2).astype(np.float64)
        self.i_repeat = np.asarray(rep.sum(0)).ravel() / np.maximum(self.i_users, 1.0)
        self.i_age = np.full(n_i, np.nan)
        if len(enc.i):
            first = _group(enc.i, (self.now - enc.t) / DAY, n_i, np.maximum, -np.inf)
            self.i_age = np.where(np.isfinite(first), first, np.nan)

    def features(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """(len(users), len(FEATURES)) float32 for the pairs (users[k], items[k])."""
        n = _lookup(self.ui_n, users, items)
        last = _lookup(self.ui_last, users, items) - 1.0  # stored +1
        first = _lookup(self.ui_first, users, items) - 1.0
        has = n > 0
        last = np.where(has, last, np.nan)
        first = np.where(has, first, np.nan)
        interval = np.where(n >= 2, (first - last) / np.maximum(n - 1, 1), np.nan)
        overdue = last / np.maximum(interval, 1.0)
        un = self.u_n[users]
        cols = [n, n / np.maximum(un, 1.0), last, first, interval, overdue, un, self.u_last[users],
                self.u_first[users], np.log1p(self.i_users[items]), np.log1p(self.i_users_7[items]),
                np.log1p(self.i_users_30[items]), self.i_trend[items], self.i_repeat[items], self.i_age[items]]
        return np.stack(cols, 1).astype(np.float32)


def _group(keys, vals, n, ufunc, init):
    out = np.full(n, init, np.float64)
    ufunc.at(out, keys, vals)
    return out


def _reduce(rows, cols, vals, n_rows, n_cols, ufunc) -> sp.csr_matrix:
    """CSR of ufunc-reduced ``vals + 1`` per (row, col) (0 = no entry)."""
    if len(rows) == 0:
        return sp.csr_matrix((n_rows, n_cols))
    key = rows.astype(np.int64) * n_cols + cols
    order = np.argsort(key, kind="stable")
    k, v = key[order], vals[order]
    start = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1]
    red = ufunc.reduceat(v, start)
    uk = k[start]
    return sp.csr_matrix((red + 1.0, (uk // n_cols, uk % n_cols)), shape=(n_rows, n_cols))


def _item_users(users, items, mask, n_items):
    if not mask.any():
        return np.zeros(n_items)
    pairs = np.unique(np.stack([users[mask], items[mask]], 1), axis=0)
    return np.bincount(pairs[:, 1], minlength=n_items).astype(np.float64)


def _lookup(M: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return np.asarray(M[rows, cols]).ravel().astype(np.float64)
