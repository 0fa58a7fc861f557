"""fit / predict / forecast: the functions the Django side calls (DataFrames in, DataFrames and bytes out).

    art = fit(sales, items, config=None, progress=None, train_until=None)      # progress(epoch, metrics)
    fc = predict(art, sales, items, as_of="2011-09-30", horizon=45)            # item_id,date,p10,p50,p90
    blob = art.to_bytes(); art = Artifact.from_bytes(blob)
    fc, art = forecast(sales, items, train_until="2011-09-30", horizon=45)      # fit on rows <= the day, predict

``sales`` and ``items`` are DataFrames in exactly the documented CSV format (README.md). ``fit`` trains on the rows
up to and including ``train_until`` (default: every row); ``predict`` ignores every sales row after ``as_of``.
The pieces: ``config.py`` (options), ``features.py`` (vocabulary, image and series features), ``tensors.py``
(batches), ``train.py`` (the loop), ``artifact.py`` (the trained model and its bytes), ``model.py`` (the network).
"""
from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from mlcore.images import choose_arch
from mlcore.progress import as_progress

from . import data as D
from .artifact import ARTIFACT_VERSION, Artifact, load_artifact, save_artifact
from .config import Config, make_config
from .errors import ArtifactError, ForecastError, ForecastInputError
from .features import build_vocab, encode_text, image_features, prepare
from .tensors import Windows
from .train import train

log = logging.getLogger(__name__)

__all__ = ["fit", "predict", "forecast", "Artifact", "Config", "make_config", "save_artifact", "load_artifact",
           "ARTIFACT_VERSION", "ForecastError", "ForecastInputError", "ArtifactError", "build_vocab", "encode_text"]


def _inputs(sales, items):
    sales = D.validate_sales(sales)
    items = D.validate_items(items)
    D.check_known_items(sales, items)
    return sales, items


def fit(sales: pd.DataFrame, items: pd.DataFrame, config: Config | dict | None = None, progress=None,
        train_until=None, *, until=None) -> Artifact:
    """Train on the rows of ``sales`` up to and including ``train_until`` (default: the last date) and return an
    :class:`Artifact`. ``progress(epoch, metrics)`` is called after every epoch (metrics: ``epochs``,
    ``train_loss``, ``val_loss``, ``best_val_loss``, ``seconds``, ``windows_per_s``); a tqdm bar is shown on a
    terminal. ``until`` is the older name of ``train_until``."""
    cfg = Config.from_dict(config)
    cfg = cfg.replace(image_arch=choose_arch(cfg.image_arch, cfg.image_weights))   # the artifact names the backbone
    progress = as_progress(progress)
    sales, items = _inputs(sales, items)
    cutoff = train_until if train_until is not None else until
    cutoff = sales["date"].max() if cutoff is None else D.parse_date(cutoff, "train_until")
    sales = sales[sales["date"] <= cutoff]
    if len(sales) == 0:
        raise ForecastInputError(f"sales: no rows on or before train_until {cutoff.date()}")
    vocab = build_vocab(items, cfg)
    prep = prepare(sales, items, cfg, cutoff, vocab)
    t0 = time.time()
    images = image_features(items, cfg)
    img_s = time.time() - t0
    state, metrics = train(cfg, prep, images, len(vocab) + 2, progress)
    panel = prep.panel
    T = len(panel.dates)
    scalers = {it: [float(prep.U[k]), float(prep.V[k]), float(prep.Cc[k]),
                    float(prep.P[k]) if np.isfinite(prep.P[k]) else float("nan")]
               for k, it in enumerate(panel.item_ids) if panel.first_day[k] < T}
    metrics.update(image_seconds=img_s, n_items=len(items), n_images=int(images.has_image.sum()))
    return Artifact(config=cfg, state_dict=state, vocab=vocab, categories=prep.categories, scalers=scalers,
                    category_scale=prep.cat_scale, global_scale=[float(x) for x in prep.gs],
                    image_channels=images.channels, n_regions=images.regions.shape[1],
                    train_until=str(cutoff.date()), image_norm=images.norm, image_weights_id=images.weights_id,
                    metrics=metrics)


def predict(artifact: Artifact, sales: pd.DataFrame | None, items: pd.DataFrame, as_of=None, horizon=None,
            chunk_items: int = 2048, *, image_weights: str | None = None,
            image_cache_dir: str | None = None) -> pd.DataFrame:
    """Forecast ``horizon`` days after ``as_of`` for every item in ``items``; sales after ``as_of`` are ignored.

    Items without history (new products) are forecast from image, text and category.
    ``image_weights`` / ``image_cache_dir``: where the backbone weights and the feature cache are on this machine
    (default: the paths the model was trained with); the weights must be the ones it was trained with.
    Returns a DataFrame ``item_id,date,p10,p50,p90`` (dates as YYYY-MM-DD strings, quantiles ordered, >= 0).
    """
    import torch

    if not isinstance(artifact, Artifact):
        raise ForecastInputError(f"artifact: expected a forecasting Artifact, got {type(artifact).__name__}")
    overrides = {k: v for k, v in (("image_weights", image_weights), ("image_cache_dir", image_cache_dir)) if v}
    cfg = artifact.config.replace(**overrides)
    H = cfg.horizon
    horizon = H if horizon is None else int(horizon)
    if horizon < 1 or horizon > H:
        raise ForecastInputError(f"horizon: must be between 1 and the trained horizon {H}, got {horizon}")
    items = D.validate_items(items)
    if sales is None or len(sales) == 0:
        if as_of is None:
            raise ForecastInputError("sales: no rows (empty input) and no as_of date given")
        sales = pd.DataFrame({"date": pd.Series([], dtype="datetime64[ns]"), "item_id": pd.Series([], dtype=str),
                              "units": pd.Series([], dtype=float)})
    else:
        sales, items = _inputs(sales, items)
    as_of = D.parse_date(as_of, "as_of") if as_of is not None else sales["date"].max()
    sales = sales[sales["date"] <= as_of]
    W = cfg.window
    start = as_of - pd.Timedelta(days=W + 365 - 1)
    model = artifact.model()
    out = []
    for c0 in range(0, len(items), chunk_items):
        it = items.iloc[c0:c0 + chunk_items].reset_index(drop=True)
        sl = sales[sales["item_id"].isin(set(it["item_id"]))]
        prep = prepare(sl, it, cfg, as_of, artifact.vocab, fitted=artifact, start=start)
        images = image_features(it, cfg, norm=artifact.image_norm, expect_weights_id=artifact.image_weights_id)
        if images.regions.shape[1] != artifact.n_regions and not images.has_image.any():
            images.regions = np.zeros((len(it), artifact.n_regions, images.regions.shape[2]), np.float32)
        T = len(prep.panel.dates)
        win = Windows(prep, images, W, H, torch.device("cpu"))
        preds = []
        with torch.no_grad():
            for b in range(0, len(it), 1024):
                ii = np.arange(b, min(b + 1024, len(it)))
                preds.append(model(*win.inputs(ii, np.full(len(ii), T - 1))).numpy())
        p = np.concatenate(preds)[:, :horizon] * prep.U[:, None, None]
        p = np.clip(p, 0, None)
        dates = pd.date_range(as_of + pd.Timedelta(days=1), periods=horizon, freq="D").strftime("%Y-%m-%d")
        out.append(pd.DataFrame({"item_id": np.repeat(it["item_id"].to_numpy(), horizon),
                                 "date": np.tile(dates, len(it)), "p10": p[..., 0].ravel(),
                                 "p50": p[..., 1].ravel(), "p90": p[..., 2].ravel()}))
    return pd.concat(out, ignore_index=True)


def forecast(sales, items, train_until, horizon=45, config=None, progress=None):
    """Train on rows up to and including ``train_until`` only, then forecast ``horizon`` days after it.
    Returns ``(forecast frame, artifact)``."""
    cutoff = D.parse_date(train_until, "train_until")
    sales, items = _inputs(sales, items)
    hist = sales[sales["date"] <= cutoff].reset_index(drop=True)
    if len(hist) == 0:
        raise ForecastInputError(f"sales: no rows on or before --train-until {cutoff.date()}")
    cfg = Config.from_dict(config, horizon=max(int(horizon), 1))
    art = fit(hist, items, cfg, progress=progress, train_until=cutoff)
    return predict(art, hist, items, as_of=cutoff, horizon=horizon), art


