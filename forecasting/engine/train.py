"""The training loop: forecast origins split 7:2:1 in time order, mini-batches of (item, origin) windows, Adam,
early stopping on the validation loss, the best-validation weights kept.

``train(...)`` returns the best weights and the training metrics; :func:`forecasting.engine.api.fit` wraps it.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import numpy as np

from . import data as D
from .config import Config
from .errors import ForecastError, ForecastInputError
from .features import ImageFeatures, Prepared
from .tensors import Windows
from mlcore.device import pick_device
from mlcore.progress import Bar


@dataclass
class Origins:
    """Per-item first usable origin and the split boundaries [lo, b1) train, [b1, b2) validation, [b2, o_max]
    test, as indices on the day axis."""

    first: np.ndarray
    has_hist: np.ndarray
    lo: int
    b1: int
    b2: int
    o_max: int

    def windows(self, a: int, b: int, stride: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
        its, ors = [], []
        for k in np.flatnonzero(self.has_hist):
            s = max(a, int(self.first[k]))
            o = np.arange(s + offset % stride if stride > 1 else s, b, stride)
            its.append(np.full(len(o), k))
            ors.append(o)
        if not its:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(its).astype(np.int64), np.concatenate(ors).astype(np.int64)


def split_origins(panel: D.Panel, cfg: Config) -> Origins:
    T, H, W = len(panel.dates), cfg.horizon, cfg.window
    if T < H + 2:
        raise ForecastInputError(f"sales: only {T} days of history; need more than the horizon ({H} days) to train")
    first = np.maximum(panel.first_day - 1, min(cfg.min_history - 1, T - H - 1))
    o_max = T - 1 - H            # the last origin whose targets end on the last day (the cutoff day itself)
    has_hist = panel.first_day < T
    lo = int(first[has_hist].min()) if has_hist.any() else 0
    span = o_max - lo + 1
    if span < 3:
        raise ForecastInputError(f"sales: {T} days of history leave no room for training windows "
                                 f"(window {W}, horizon {H}); supply more history")
    fr = np.asarray(cfg.split, float)
    fr = fr / fr.sum()
    b1 = lo + max(1, int(round(span * fr[0])))
    b2 = b1 + max(1 if fr[1] > 0 else 0, int(round(span * fr[1])))
    return Origins(first, has_hist, lo, b1, min(b2, o_max + 1), o_max)


def _loss(pred, y, mask, cfg: Config):
    from .model import pinball

    mse = ((pred[..., 1] - y) ** 2 * mask).sum() / mask.sum().clamp_min(1.0)
    return cfg.mse_weight * mse + cfg.pinball_weight * pinball(pred, y, mask=mask)


def train(cfg: Config, prep: Prepared, images: ImageFeatures, vocab_size: int, progress=None):
    """Train a :class:`ForecastNet`; return ``(best_state_dict, metrics)``. ``progress(epoch, metrics)``."""
    import torch

    from .model import ForecastNet

    if cfg.num_threads:
        torch.set_num_threads(int(cfg.num_threads))
    torch.manual_seed(int(cfg.seed))
    rng = np.random.default_rng(int(cfg.seed))
    org = split_origins(prep.panel, cfg)
    val_i, val_o = org.windows(org.b1, org.b2, cfg.val_stride)
    test_i, test_o = org.windows(org.b2, org.o_max + 1, cfg.val_stride)
    if len(val_i) == 0:  # tiny data: validate on the last training origins
        val_i, val_o = org.windows(max(org.lo, org.b1 - 3), org.b1, 1)

    dev = pick_device(cfg.device)
    use_amp = bool(cfg.amp) and dev.type == "cuda"
    bs = int(cfg.gpu_batch_size if dev.type == "cuda" else cfg.batch_size)
    model = ForecastNet(cfg, vocab_size, len(prep.categories) + 1, len(D.DYNAMIC_FEATURES),
                        len(D.CALENDAR_FEATURES), images.channels).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    amp_ctx = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext
    win = Windows(prep, images, cfg.window, cfg.horizon, dev)

    def evaluate(its, ors):
        model.eval()
        tot, n = 0.0, 0
        with torch.no_grad():
            for b in range(0, len(its), 512):
                ii, oo = its[b:b + 512], ors[b:b + 512]
                y, m = win.targets(ii, oo)
                with amp_ctx():
                    pred = model(*win.inputs(ii, oo)).float()
                tot += float(_loss(pred, y, m, cfg)) * len(ii)
                n += len(ii)
        return tot / max(n, 1)

    bar = Bar(int(cfg.epochs), "training", cfg.progress_bar)
    best, best_state, best_epoch, bad = math.inf, None, 0, 0
    history = []
    n_windows_seen, train_s = 0, 0.0
    try:
        for epoch in range(1, int(cfg.epochs) + 1):
            te = time.time()
            model.train()
            tr_i, tr_o = org.windows(org.lo, org.b1, cfg.stride, offset=int(rng.integers(0, max(1, cfg.stride))))
            perm = rng.permutation(len(tr_i))
            if cfg.max_epoch_windows:
                perm = perm[: int(cfg.max_epoch_windows)]
            tot, n = 0.0, 0
            for b in range(0, len(perm), bs):
                sel = perm[b:b + bs]
                ii, oo = tr_i[sel], tr_o[sel]
                hide = rng.random(len(ii)) < cfg.coldstart_prob
                y, m = win.targets(ii, oo, hide)
                opt.zero_grad(set_to_none=True)
                with amp_ctx():
                    pred = model(*win.inputs(ii, oo, hide)).float()
                loss = _loss(pred, y, m, cfg)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    opt.step()
                tot += float(loss.detach()) * len(ii)
                n += len(ii)
            train_s += time.time() - te
            n_windows_seen += n
            vl = evaluate(val_i, val_o)
            if vl < best - 1e-6:
                best, best_epoch, bad = vl, epoch, 0
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
            seconds = time.time() - te
            rec = {"epochs": int(cfg.epochs), "train_loss": tot / max(n, 1), "val_loss": vl, "best_val_loss": best,
                   "seconds": seconds, "windows_per_s": n / max(seconds, 1e-9)}
            history.append({"epoch": epoch, **rec})
            if progress is not None:
                progress(epoch, dict(rec))
            bar.update(train=rec["train_loss"], val=vl)
            if bad >= cfg.patience:
                break
    finally:
        bar.close()
    if best_state is None:
        raise ForecastError(f"training failed: the validation loss was never finite ({history[-1]['val_loss']}); "
                            "check the data for extreme values or lower the learning rate")
    model.load_state_dict(best_state)
    test_loss = evaluate(test_i, test_o) if len(test_i) else None
    metrics = {"best_epoch": best_epoch, "best_val_loss": best, "test_loss": test_loss, "epochs_run": len(history),
               "train_seconds": train_s, "train_windows": n_windows_seen,
               "windows_per_s": n_windows_seen / max(train_s, 1e-9), "device": str(dev), "history": history,
               "split_origins": [int(org.lo), int(org.b1), int(org.b2), int(org.o_max)]}
    return {k: v.detach().cpu() for k, v in best_state.items()}, metrics
