"""What the network reads about each item, as numpy arrays: word ids (the catalog vocabulary), image region
features (frozen CNN, cached), category ids, per-series scalers and the scaled daily features.

Everything here sees only the rows it is given and never looks past the ``until`` date.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import data as D
from .config import Config
from .errors import ForecastInputError


# ------------------------------------------------------------------------------------------------ vocabulary
def build_vocab(items: pd.DataFrame, cfg: Config) -> dict:
    """word -> id over the catalog's names and descriptions (0 = padding, 1 = unknown word)."""
    counts: dict = {}
    for text in (items["name"] + " " + items["description"]):
        for w in D.tokenize(text):
            counts[w] = counts.get(w, 0) + 1
    words = sorted((w for w, c in counts.items() if c >= cfg.min_word_count), key=lambda w: (-counts[w], w))
    return {w: i + 2 for i, w in enumerate(words[: cfg.max_vocab])}


def encode_text(items: pd.DataFrame, vocab: dict, max_tokens: int) -> np.ndarray:
    out = np.zeros((len(items), max_tokens), dtype=np.int64)
    for k, text in enumerate(items["name"] + " " + items["description"]):
        ids = [vocab.get(w, 1) for w in D.tokenize(text)][:max_tokens]
        out[k, : len(ids)] = ids
    return out


# ------------------------------------------------------------------------------------------------ images
@dataclass
class ImageFeatures:
    regions: np.ndarray   # (n, R, C) float32, divided by `norm`; zeros where has_image is False
    has_image: np.ndarray  # (n,) bool
    channels: int
    norm: float           # global RMS fixed at fit time (stored in the artifact)
    weights_id: str       # identity of the backbone weights ("random-seed0", "w<sha256 prefix>")


def image_features(items: pd.DataFrame, cfg: Config, norm: float | None = None,
                   expect_weights_id: str = "") -> ImageFeatures:
    """Region features of the items' photos. ``expect_weights_id``: the backbone identity the model was trained
    with (predict); other weights would give features the model never saw, so they are refused."""
    from mlcore.images import ARCH_CHANNELS, ImageFeatureExtractor, choose_arch

    arch = choose_arch(cfg.image_arch, cfg.image_weights)
    C = ARCH_CHANNELS[arch]
    paths = items["image_path"].tolist()
    if not cfg.use_image or not any(p.strip() for p in paths):
        return ImageFeatures(np.zeros((len(items), 1, C), np.float32), np.zeros(len(items), bool), C, norm or 1.0,
                             "")
    ext = ImageFeatureExtractor(arch, cfg.image_weights, cfg.image_cache_dir, cfg.image_size,
                                cfg.image_batch_size, device=None if cfg.device == "auto" else cfg.device)
    if expect_weights_id and ext.weights_id != expect_weights_id:
        raise ForecastInputError(
            f"image_weights: the backbone weights given here ({ext.weights_id}) are not the ones the model was "
            f"trained with ({expect_weights_id}); pass the same weights file")
    grids, ok = ext.region_features(paths)
    # frozen features are divided by one global RMS (fixed at fit time, stored in the artifact) so random and
    # ImageNet weights both give inputs of unit scale
    if norm is None:
        norm = float(np.sqrt((grids[ok] ** 2).mean()) + 1e-6) if ok.any() else 1.0
    return ImageFeatures(grids / norm, ok, C, norm, ext.weights_id)


# ------------------------------------------------------------------------------------------------ series
@dataclass
class Prepared:
    """Model inputs over [start, until] for every item (daily features padded on the left by the window)."""

    panel: D.Panel
    feats: np.ndarray       # (N, W + T, n_dyn)
    cal: np.ndarray         # (W + T + H, n_cal) calendar of every day, known in advance
    tokens: np.ndarray      # (N, max_tokens)
    U: np.ndarray           # units scale per item (mean daily units + 1; category median for new items)
    V: np.ndarray
    Cc: np.ndarray
    P: np.ndarray           # reference price (NaN when unknown)
    cold_u: np.ndarray      # the scale an item would get without history (category median)
    categories: dict        # category -> id (0 = unknown)
    cat_scale: dict
    gs: list                # global median scales [units, views, carts]
    category: np.ndarray    # (N,) category id


def prepare(sales: pd.DataFrame, items: pd.DataFrame, cfg: Config, until: pd.Timestamp, vocab: dict,
            fitted=None, start=None) -> Prepared:
    """``fitted``: the artifact whose scalers and categories to reuse (predict); None computes them (fit)."""
    item_ids = items["item_id"].tolist()
    W, H = cfg.window, cfg.horizon
    if start is None:
        start = sales["date"].min() if len(sales) else until
    start = min(pd.Timestamp(start), until)
    panel = D.build_panel(sales, item_ids, start, until)
    T = len(panel.dates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        us, vs, cs, pr = D.series_scalers(panel, T - 1)
    cat_names = items["category"].tolist()
    if fitted is None:
        has_hist = panel.first_day < T
        gs = [float(np.nanmedian(x[has_hist])) if has_hist.any() else 1.0 for x in (us, vs, cs)]
        cat_scale = {}
        for c in sorted(set(cat_names)):
            m = has_hist & (np.array(cat_names) == c)
            if m.any():
                cat_scale[c] = float(np.median(us[m]))
        categories = {c: i + 1 for i, c in enumerate(sorted(set(cat_names)))}
        scalers = {}
    else:
        gs, cat_scale, categories, scalers = (fitted.global_scale, fitted.category_scale, fitted.categories,
                                              fitted.scalers)
    cold_u = np.array([cat_scale.get(c, gs[0]) for c in cat_names], np.float32)
    U, V, Cc, P = (np.empty(len(item_ids), np.float32) for _ in range(4))
    for k, it in enumerate(item_ids):
        if it in scalers:
            U[k], V[k], Cc[k], P[k] = scalers[it]
        elif panel.first_day[k] < T:
            U[k], V[k], Cc[k], P[k] = us[k], vs[k], cs[k], pr[k]
        else:
            U[k], V[k], Cc[k], P[k] = cold_u[k], gs[1], gs[2], np.nan
    P = np.where(np.isfinite(P) & (P > 0), P, np.nan).astype(np.float32)
    feats = D.dynamic_features(panel, U, V, Cc, P, cfg.extra_holidays)
    feats = np.concatenate([np.zeros((len(item_ids), W, feats.shape[2]), np.float32), feats], 1)
    all_dates = pd.date_range(start - pd.Timedelta(days=W), until + pd.Timedelta(days=H), freq="D")
    cal = D.calendar_frame(all_dates, cfg.extra_holidays)
    tokens = encode_text(items, vocab, cfg.max_tokens)
    return Prepared(panel=panel, feats=feats, cal=cal, tokens=tokens, U=U, V=V, Cc=Cc, P=P, cold_u=cold_u,
                    categories=categories, cat_scale=cat_scale, gs=gs,
                    category=np.array([categories.get(c, 0) for c in cat_names], np.int64))
