"""Train -> gate -> publish: the only caller of the forecasting engine on the Django side (worker processes and
management commands; the web process never imports this module).

One training run (``execute_run``):

1. Read the shop's data through ``forecasting.inputs`` (``shop.analytics`` frames, photos via default_storage),
   up to *yesterday* (``as_of``, the last complete day).
2. **Candidate**: train on every day up to ``cutoff = as_of - 45`` (early stopping on the engine's own validation
   origins inside that period).
3. **Gate**: forecast the 45 days ``cutoff+1 .. as_of`` that the candidate never saw and score WAPE on every product
   with history before the cutoff, against the seasonal naive (lag 7), the 28-day moving average and the serving
   model. The serving model is scored with *its own* gate-time weights (trained up to its own cutoff, which is on
   or before this one), so it has not seen these days either: both sides are out of sample. The candidate serves
   only if its WAPE is below the serving model's and below the seasonal naive's (the first model: below the
   seasonal naive), and its total bias is within ``FORECAST_GATE_MAX_BIAS`` (WAPE alone rewards forecasting next
   to nothing for slow sellers: a model that forecasts zero scores 1.0, often better than a sound forecast of
   intermittent demand). A rejected candidate stays in the registry with the reason.
4. **Refit through yesterday** with the gated configuration and the number of epochs early stopping chose, on all
   origins (no validation hold-out), so the served forecasts come from a model that has seen the latest data.
5. Forecast every active product from ``as_of``, promote, publish (bulk, atomic swap). Products with fewer than
   ``FORECAST_COLD_START_DAYS`` days of history go through the engine's cold-start path (photo, text, category)
   and are flagged. A rejected run republishes with the serving model, so the forecast always starts today.

The artifact stored in the registry is a zip bundle: ``model.bin`` (the refit, what serves), ``holdout.bin`` (the
gate-time weights, for the next run's gate) and ``meta.json``.
"""
from __future__ import annotations

import io
import json
import logging
import math
import time
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.utils import timezone

from registry import services as registry
from registry.models import ModelVersion, TrainingRun

from . import inputs
from .publish import HORIZON, live_publication, publish
from .results import KIND

log = logging.getLogger(__name__)
BUNDLE_FORMAT = 1
ENGINE = "forecasting.engine multimodal BiLSTM"

# The CPU default: retrains the demo shop (300 products x 730 days, with photos) in well under 10 minutes on two
# cores (benchmarks/forecasting/bench_retrain.py; README gives the time and the accuracy it costs).
CPU_CONFIG = {
    "epochs": 8, "patience": 2, "batch_size": 128, "stride": 7, "val_stride": 14, "max_epoch_windows": 3000,
    "image_size": 224, "amp": False,
}
# With a GPU: the paper's schedule (up to 100 epochs, patience 10, every origin), mixed precision.
GPU_CONFIG = {"epochs": 100, "patience": 10, "stride": 3, "val_stride": 3, "max_epoch_windows": None, "amp": True}


class TrainingError(RuntimeError):
    """The shop's data cannot train a forecaster (with a message a manager can act on)."""


# ------------------------------------------------------------------------------------------- engine seam
def _api():
    from .engine import api

    return api


def _fit(sales, items, config: dict, train_until: date, progress):
    return _api().fit(sales, items, config, progress=progress, train_until=pd.Timestamp(train_until))


def _predict(artifact, sales, items, as_of: date) -> pd.DataFrame:
    # this machine's weights file and feature cache (the artifact remembers the training machine's paths)
    opts = inputs.image_options()
    return _api().predict(artifact, sales, items, as_of=pd.Timestamp(as_of), horizon=HORIZON,
                          image_weights=opts["image_weights"], image_cache_dir=opts["image_cache_dir"])


def _to_bytes(artifact) -> bytes:
    return artifact.to_bytes()


def _from_bytes(blob: bytes):
    return _api().Artifact.from_bytes(blob)


def _engine_config(config: dict) -> dict:
    """The full option set (defaults filled in), as stored with the model version."""
    return _api().Config.from_dict(config).to_dict()


def _backtest_arrays(sales, item_ids, cutoff: date, as_of: date):
    from .engine import data as D

    s = D.validate_sales(sales)
    start = s["date"].min()
    hist = D.build_panel(s, item_ids, start, pd.Timestamp(cutoff))
    fut = D.build_panel(s, item_ids, pd.Timestamp(cutoff) + pd.Timedelta(days=1), pd.Timestamp(as_of))
    return hist, fut


def _baselines(units: np.ndarray) -> dict[str, np.ndarray]:
    from .engine import baselines as B

    return {"snaive": B.seasonal_naive(units, HORIZON), "ma28": B.moving_average(units, HORIZON)}


def _score(y, f, hist, lo, hi, active) -> dict:
    from .engine.metrics import evaluate

    keep = ("WAPE", "MAE", "RMSE", "bias", "MASE", "WAPE_total", "cover80", "WAPE_1-7", "WAPE_8-28", "WAPE_29-45")
    out = evaluate(y, f, hist, lo, hi, active)
    return {k: (None if out[k] is None or not math.isfinite(out[k]) else round(float(out[k]), 5))
            for k in keep if k in out}


# ------------------------------------------------------------------------------------------- data
def _frames(start: date, end: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(sales, every product, the active products) in the engine's format, through the seam."""
    return inputs.sales(start, end), inputs.items(), inputs.items(active_only=True)


def choose_device() -> str:
    """"cuda" when this worker has a GPU, else "cpu" (mlcore.device decides for every trainer)."""
    from mlcore.device import pick_device

    return pick_device().type


def run_config(device: str, requested: dict | None = None) -> dict:
    """Engine options for a run: CPU or GPU defaults < image options of this machine < FORECAST_ENGINE_CONFIG <
    the run's own options. On CPU, a ResNet-50/101 without ImageNet weights is replaced by ResNet-18: with random
    weights its features carry more of the photos' signal (benchmarks/forecasting/RESULTS.md) at a quarter of the
    compute."""
    cfg = dict(GPU_CONFIG if device == "cuda" else CPU_CONFIG)
    cfg.update(inputs.image_options())
    if device == "cpu":
        if not cfg.get("image_weights") and cfg.get("image_arch") in ("resnet50", "resnet101"):
            cfg["image_arch"] = "resnet18"
        if settings.FORECAST_TRAIN_THREADS:
            cfg["num_threads"] = settings.FORECAST_TRAIN_THREADS
    cfg.update(device=device, progress_bar=False)
    cfg.update(settings.FORECAST_ENGINE_CONFIG)
    cfg.update(requested or {})
    cfg["horizon"] = HORIZON
    return cfg


# ------------------------------------------------------------------------------------------- bundle
@dataclass
class Bundle:
    model: object | None        # the refit (serves)
    holdout: object | None      # the gate-time weights
    meta: dict

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr("meta.json", json.dumps({"format": BUNDLE_FORMAT, **self.meta}, default=str))
            if self.model is not None:
                z.writestr("model.bin", _to_bytes(self.model))
            if self.holdout is not None:
                z.writestr("holdout.bin", _to_bytes(self.holdout))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, parts=("model", "holdout")) -> "Bundle":
        try:
            with zipfile.ZipFile(io.BytesIO(blob)) as z:
                names = set(z.namelist())
                meta = json.loads(z.read("meta.json"))
                got = {p: _from_bytes(z.read(f"{p}.bin")) if f"{p}.bin" in names and p in parts else None
                       for p in ("model", "holdout")}
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise TrainingError(f"the model bundle cannot be read: {exc}") from exc
        if meta.get("format") != BUNDLE_FORMAT:
            raise TrainingError(f"unsupported model bundle format {meta.get('format')!r}")
        return cls(model=got["model"], holdout=got["holdout"], meta=meta)


def load_bundle(version: ModelVersion, parts=("model", "holdout")) -> Bundle:
    return Bundle.from_bytes(registry.load_artifact(version), parts)


# ------------------------------------------------------------------------------------------- the run
def execute_run(run_id: int, task_id: str = "") -> str:
    """Claim a queued run and carry it out. Idempotent: a run that is not queued is left alone."""
    return registry.execute_run(KIND, run_id, train_gate_publish, task_id=task_id,
                                loggers=["forecasting", "mlcore", "registry"])


def _epoch_callback(rep: registry.RunReporter, lo: float, hi: float, stage: str):
    """A progress callback for the engine (``progress(epoch, metrics)`` or the older ``progress(record)``)."""

    def progress(*args):
        epoch, metrics = (args[0], args[1]) if len(args) == 2 else (args[0]["epoch"], args[0])
        epochs = max(int(metrics.get("epochs") or 1), 1)
        record = {"epoch": int(epoch), "epochs": epochs, "stage": stage}
        for k in ("train_loss", "val_loss", "best_val_loss", "windows_per_s", "seconds"):
            if metrics.get(k) is not None and math.isfinite(float(metrics[k])):
                record[k] = round(float(metrics[k]), 5)
        rep.epoch(record, lo + (hi - lo) * min(epoch / epochs, 1.0), stage=f"{stage}: epoch {epoch} of {epochs}")

    return progress


def _history_days(sales: pd.DataFrame, as_of: date) -> dict[str, int]:
    first = pd.to_datetime(sales.groupby("item_id")["date"].min())
    return {k: int((pd.Timestamp(as_of) - v).days) + 1 for k, v in first.items()}


def train_gate_publish(run: TrainingRun, rep: registry.RunReporter, as_of: date | None = None) -> str:
    t0 = time.perf_counter()
    device = choose_device()
    as_of = as_of or timezone.localdate() - timedelta(days=1)
    cutoff = as_of - timedelta(days=HORIZON)
    start = as_of - timedelta(days=settings.FORECAST_HISTORY_DAYS - 1)
    rep.stage("Reading the shop's sales", 0.01, device=device)
    sales, items, active = _frames(start, as_of)
    if sales.empty:
        raise TrainingError("The shop has no sales history to learn from yet.")
    first = pd.Timestamp(sales["date"].min()).date()
    need = HORIZON + 2 * 28
    if (cutoff - first).days + 1 < need:
        raise TrainingError(f"Not enough history: data starts {first}; the gate holds out the last {HORIZON} days "
                            f"and training needs at least {need} days before them (until {cutoff}).")
    cfg = run_config(device, run.config)
    log.info("run #%s: %d products (%d active), %d rows, %s to %s, device %s", run.pk, len(items), len(active),
             len(sales), first, as_of, device)

    # 1. the candidate never sees the gate's days
    rep.stage(f"Training the candidate on data to {cutoff}", 0.03)
    holdout = _fit(sales, items, cfg, cutoff, _epoch_callback(rep, 0.03, 0.45, "Training the candidate"))
    full_config = _engine_config(cfg)

    # 2. the gate
    rep.stage(f"Backtest on {cutoff + timedelta(days=1)} to {as_of}", 0.46)
    serving = registry.serving_version(KIND)
    gate = run_gate(holdout, serving, sales, items, cutoff, as_of)
    version = registry.create_version(
        KIND, run=run, engine=ENGINE, engine_config=full_config, data_start=first, data_end=as_of, device=device,
        metrics={"gate": gate, "candidate_training": _training_summary(holdout)})
    passed, reason = decide(gate, serving)
    if not passed:
        registry.store_artifact(version, Bundle(None, holdout, {"as_of": as_of, "cutoff": cutoff}).to_bytes())
        ModelVersion.objects.filter(pk=version.pk).update(duration_seconds=time.perf_counter() - t0)
        registry.reject(version, reason)
        log.warning("run #%s: %s rejected: %s", run.pk, version.label, reason)
        outcome = f"{version.label} rejected: {reason}"
        if serving is not None:
            rep.stage(f"Rejected; publishing with the serving model {serving.label}", 0.9)
            pub = _publish_with(serving, load_bundle(serving, parts=("model",)).model, sales, active, as_of)
            outcome += f" {serving.label} keeps serving; published {pub.n_products} products from {as_of}."
        return outcome

    # 3. refit through yesterday with the gated configuration
    epochs = max(int(getattr(holdout, "metrics", {}).get("best_epoch") or cfg.get("epochs", 1)), 1)
    refit_cfg = {**cfg, "epochs": epochs, "patience": epochs + 1, "split": [1.0, 0.0, 0.0]}
    rep.stage(f"Refitting through {as_of} ({epochs} epochs)", 0.5)
    model = _fit(sales, items, refit_cfg, as_of, _epoch_callback(rep, 0.5, 0.88, "Refitting through yesterday"))
    registry.store_artifact(version, Bundle(model, holdout, {"as_of": as_of, "cutoff": cutoff,
                                                             "refit_epochs": epochs}).to_bytes())
    ModelVersion.objects.filter(pk=version.pk).update(duration_seconds=time.perf_counter() - t0)

    # 4. forecast, promote, publish
    rep.stage("Forecasting every active product", 0.9)
    frame, cold, history = forecast_frame(model, sales, active, as_of)
    previous = registry.promote(version, reason)
    rep.stage(f"Publishing {len(active)} products", 0.95)
    pub = publish(version, frame, as_of=as_of, cold_start=cold, history_days=history)
    registry.prune_artifacts(KIND)
    replaced = f", replacing {previous.label}" if previous else ""
    return (f"{version.label} promoted{replaced}: {reason}. Published {pub.n_products} products from "
            f"{pub.first_day} ({sum(cold.values())} cold-start).")


def _training_summary(artifact) -> dict:
    m = dict(getattr(artifact, "metrics", {}) or {})
    return {k: m[k] for k in ("best_epoch", "epochs_run", "best_val_loss", "test_loss", "train_seconds",
                              "image_seconds", "windows_per_s", "n_items", "n_images") if k in m}


def run_gate(candidate, serving: ModelVersion | None, sales, items, cutoff: date, as_of: date) -> dict:
    """Score the candidate, the serving model (its gate-time weights) and the baselines on cutoff+1 .. as_of."""
    ids = items["item_id"].tolist()
    hist, fut = _backtest_arrays(sales, ids, cutoff, as_of)
    known = hist.first_day < hist.units.shape[1]   # products with history before the cutoff
    if not known.any():
        raise TrainingError(f"No product has sales history before {cutoff}; the gate cannot score a model.")
    y = fut.units[known]
    hist_sales = sales[pd.to_datetime(sales["date"]) <= pd.Timestamp(cutoff)]

    def quantiles(artifact):
        fc = _predict(artifact, hist_sales, items, cutoff)
        return [fc.pivot(index="item_id", columns="date", values=q).loc[ids].to_numpy(float)[known]
                for q in ("p10", "p50", "p90")]

    scores, notes = {}, []
    lo, f, hi = quantiles(candidate)
    scores["candidate"] = _score(y, f, hist.units[known], lo, hi, hist.active[known])
    if serving is not None:
        try:
            old = load_bundle(serving, parts=("holdout",)).holdout
            if old is None:
                raise TrainingError("it has no gate-time weights")
            lo, f, hi = quantiles(old)
            scores["serving"] = _score(y, f, hist.units[known], lo, hi, hist.active[known])
        except Exception as exc:  # noqa: BLE001 - an unreadable serving model must not block a good candidate
            notes.append(f"the serving model {serving.label} could not be scored ({exc})")
            log.warning("gate: %s", notes[-1])
    for name, fb in _baselines(hist.units).items():
        scores[name] = _score(y, fb[known], hist.units[known], None, None, hist.active[known])
    return {"start": str(cutoff + timedelta(days=1)), "end": str(as_of), "days": HORIZON, "items": int(known.sum()),
            "units": float(y.sum()), "scores": scores, "notes": notes,
            "serving_version": serving.pk if serving is not None and "serving" in scores else None}


def decide(gate: dict, serving: ModelVersion | None) -> tuple[bool, str]:
    s = gate["scores"]
    cand, naive, ma = s["candidate"].get("WAPE"), s["snaive"].get("WAPE"), s["ma28"].get("WAPE")
    if cand is None:
        return False, "the candidate's backtest WAPE is not a finite number (its forecasts are broken)"
    bias, limit = s["candidate"].get("bias"), settings.FORECAST_GATE_MAX_BIAS
    if bias is not None and abs(bias) > limit:
        return False, (f"its forecasts are off by {bias:+.0%} of the actual units in total (limit {limit:.0%}): WAPE "
                       f"{cand:.3f} alone would reward forecasting next to nothing for slow sellers")
    if naive is not None and not cand < naive:
        return False, f"WAPE {cand:.3f} does not beat the seasonal naive's {naive:.3f}"
    srv = s.get("serving", {}).get("WAPE")
    if serving is not None and srv is not None and not cand < srv:
        return False, f"WAPE {cand:.3f} does not beat the serving model {serving.label}'s {srv:.3f}"
    ma_txt = f", moving average {ma:.3f}" if ma is not None else ""
    if serving is not None and srv is not None:
        return True, f"WAPE {cand:.3f} beats the serving model {serving.label}'s {srv:.3f} (seasonal naive {naive:.3f}{ma_txt})"
    return True, f"WAPE {cand:.3f} beats the seasonal naive's {naive:.3f}{ma_txt}"


def forecast_frame(model, sales, active, as_of: date):
    """Forecast every active product; those with too little history go through the cold-start path (their few
    rows are withheld, so the engine forecasts them from photo, text and category). Returns (frame for
    publish, cold-start flags, history days), keyed by product id."""
    history = _history_days(sales, as_of)
    threshold = settings.FORECAST_COLD_START_DAYS
    ids = active["item_id"].tolist()
    cold_ids = {i for i in ids if history.get(i, 0) < threshold}
    hist_sales = sales[sales["item_id"].isin(set(ids) - cold_ids)]
    fc = _predict(model, hist_sales, active, as_of)
    frame = pd.DataFrame({"product_id": fc["item_id"].astype(int), "date": fc["date"], "p10": fc["p10"],
                          "p50": fc["p50"], "p90": fc["p90"]})
    return frame, {int(i): i in cold_ids for i in ids}, {int(i): history.get(i, 0) for i in ids}


def _publish_with(version: ModelVersion, model, sales, active, as_of: date):
    frame, cold, history = forecast_frame(model, sales, active, as_of)
    return publish(version, frame, as_of=as_of, cold_start=cold, history_days=history)


def publish_serving(as_of: date | None = None, force: bool = False):
    """Publish the serving model's forecast from ``as_of`` (default yesterday). Skipped (returns the live one)
    when that forecast is already live, unless ``force``. None when no model serves."""
    version = registry.serving_version(KIND)
    if version is None:
        return None
    as_of = as_of or timezone.localdate() - timedelta(days=1)
    live = live_publication()
    if live is not None and not force and live.version_id == version.pk and live.as_of == as_of:
        return live
    bundle = load_bundle(version, parts=("model",))
    start = as_of - timedelta(days=settings.FORECAST_HISTORY_DAYS - 1)
    sales, _, active = _frames(start, as_of)
    return _publish_with(version, bundle.model, sales, active, as_of)
