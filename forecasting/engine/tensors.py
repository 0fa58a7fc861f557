"""Batches for the network: (item, origin) windows cut from the prepared arrays, as torch tensors.

An origin is the index of the last input day on the unpadded day axis; the window is the ``W`` days up to and
including it, the targets the ``H`` days after it.
"""
from __future__ import annotations

import numpy as np

from .features import ImageFeatures, Prepared


class Windows:
    """Inputs and targets of the network for one prepared item set."""

    def __init__(self, prep: Prepared, images: ImageFeatures, window: int, horizon: int, device):
        self.prep, self.images = prep, images
        self.W, self.H = window, horizon
        self.device = device
        self.log_scale = np.log(prep.U)
        self.cold_log_scale = np.log(prep.cold_u)
        N = len(prep.U)
        units = prep.panel.units / prep.U[:, None]
        self.units_scaled = np.concatenate([units, np.zeros((N, horizon), np.float32)], 1)
        self.not_stockout = np.concatenate([1.0 - prep.panel.stockout, np.zeros((N, horizon), np.float32)], 1)

    def _t(self, a, dtype=None):
        import torch

        return torch.as_tensor(a, dtype=dtype).to(self.device)

    def inputs(self, items: np.ndarray, origins: np.ndarray, hide: np.ndarray | None = None) -> tuple:
        """Network inputs for windows (items[k], origins[k]); ``hide``: windows whose history is hidden (cold
        start practice: dynamic inputs zeroed, the category's scale instead of the item's)."""
        p, W, H = self.prep, self.W, self.H
        idx = origins[:, None] + 1 + np.arange(W)[None, :]          # feats are padded by W on the left
        x = p.feats[items[:, None], idx].copy()
        cal = p.cal[origins[:, None] + 1 + W + np.arange(H)[None, :]]
        log_scale = self.log_scale[items].copy()
        if hide is not None and hide.any():
            x[hide, :, :7] = 0.0           # units, views, carts, price, promo, stockout, active -> unknown
            log_scale[hide] = self.cold_log_scale[items[hide]]
        img = self.images
        return (self._t(x), self._t(cal), self._t(p.tokens[items]), self._t(img.regions[items]),
                self._t(img.has_image[items]), self._t(p.category[items]), self._t(log_scale.astype(np.float32)))

    def targets(self, items: np.ndarray, origins: np.ndarray, hide: np.ndarray | None = None) -> tuple:
        """(scaled units of the H days after each origin, mask of days that were not stocked out)."""
        idx = origins[:, None] + 1 + np.arange(self.H)[None, :]
        y = self.units_scaled[items[:, None], idx]
        if hide is not None and hide.any():   # hidden-history windows are scaled by the cold-start scale
            y[hide] = y[hide] * (self.prep.U[items[hide]] / self.prep.cold_u[items[hide]])[:, None]
        return self._t(y), self._t(self.not_stockout[items[:, None], idx])
