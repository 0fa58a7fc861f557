"""Per-user event sequences in time order, shared by the DNN's history tower and the GRU baseline."""
from __future__ import annotations

import numpy as np

from .data import Encoded

DAY = 86400.0


def event_weight_array(event_weights: dict) -> np.ndarray:
    return np.array([event_weights.get("view", 0.2), event_weights.get("cart", 0.5),
                     event_weights.get("purchase", 1.0)], np.float32)


class Sequences:
    """Events sorted by (user, time). ``start[u]:end[u]`` slices user u's events."""

    def __init__(self, enc: Encoded):
        order = np.lexsort((enc.t, enc.u))
        self.u = enc.u[order]
        self.i = enc.i[order]
        self.t = enc.t[order]
        self.e = enc.e[order]
        n_users = enc.n_users
        self.start = np.searchsorted(self.u, np.arange(n_users), side="left")
        self.end = np.searchsorted(self.u, np.arange(n_users), side="right")
        n = len(self.u)
        # first position of the same (user, timestamp) group: history of an event = strictly earlier events
        new = np.ones(n, bool)
        if n:
            new[1:] = (self.u[1:] != self.u[:-1]) | (self.t[1:] != self.t[:-1])
        self.group_start = np.maximum.accumulate(np.where(new, np.arange(n), 0)) if n else np.zeros(0, np.int64)

    def prefix_histories(self, positions: np.ndarray, L: int):
        """For event positions, the indices of the L previous events (strictly earlier time) of the same user.

        Returns (idx, mask) of shape (len(positions), L); idx is only meaningful where mask is True.
        """
        end = self.group_start[positions]
        first = self.start[self.u[positions]]
        idx = end[:, None] - np.arange(L, 0, -1)[None, :]
        mask = idx >= first[:, None]
        return np.where(mask, idx, 0), mask

    def last_histories(self, users: np.ndarray, L: int):
        """The last L events (indices into the sorted arrays) of each user, with a validity mask."""
        end = self.end[users]
        first = self.start[users]
        idx = end[:, None] - np.arange(L, 0, -1)[None, :]
        mask = idx >= first[:, None]
        return np.where(mask, idx, 0), mask
