"""Train -> gate -> publish: the only caller of the recommender engine on the Django side (Celery workers and
management commands; the web process never imports this module).

One training run (``execute_run``):

1. Read the interactions (views, add-to-carts, purchases) of the last ``RECOMMENDER_HISTORY_DAYS`` up to
   *yesterday* (``as_of``, the last complete day) and the catalog through ``recommender.inputs`` (the only door to
   the shop's data; photos through default_storage; photo features from a pretrained backbone, see
   ``_image_features``).
2. **Candidate**: train on everything up to ``cutoff = as_of - RECOMMENDER_GATE_DAYS`` (default 7).
3. **Gate**: on the held-out days ``cutoff+1 .. as_of``, rank the whole catalog for every customer seen before the
   cutoff who bought something in those days, and score NDCG@10 (and HR@10, catalog coverage) with the engine's
   own evaluation (``recommender.engine.evaluate``: repeat purchases count, no sampled negatives) for the candidate,
   the serving model (its gate-time weights, trained up to its own cutoff, which is on or before this one: it has
   not seen these days either) and the baselines in ``RECOMMENDER_GATE_BASELINES`` (engine baselines by name, fitted
   on the candidate's training data: recent popularity, item-kNN, and the repeat-aware TIFU-KNN where the engine
   has it). The candidate is promoted only if its NDCG@10 is not below any baseline, not below the serving model's
   by more than ``RECOMMENDER_GATE_TOLERANCE`` (default 0.002: equal models differ by noise, and the fresher one
   should serve), and at least ``RECOMMENDER_GATE_MIN_USERS`` customers could be scored; otherwise it is rejected
   with the reason, and the serving model keeps serving.
4. **Refit through yesterday** with the same options (``RECOMMENDER_REFIT``: ``auto`` = on a GPU, or when the
   candidate's training took under ``REFIT_AUTO_SECONDS``), so what serves has seen the latest week too.
5. Publish in bulk (``publish.py``): per signed-in customer the top ``RECOMMENDER_TOP_N`` products, per product
   the top ``RECOMMENDER_TOP_N`` "customers also bought" (for products nobody bought yet: content neighbours), only
   products that are active and in stock; the version is promoted in the transaction that makes the rows live, so
   the serving model and the live recommendations change together (a run cancelled meanwhile changes neither).

The artifact in the registry is a zip bundle: ``model.bin`` (what serves), ``holdout.bin`` (the gate-time weights,
for the next run's gate; absent when the model was not refitted, then ``model.bin`` is both) and ``meta.json``.
"""
from __future__ import annotations

import io
import json
import logging
import math
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.utils import timezone

from registry import services as registry
from registry.models import ModelVersion, TrainingRun

from . import inputs
from .models import KIND
from .publish import live_publication, publish

log = logging.getLogger(__name__)
BUNDLE_FORMAT = 1
ENGINE = "recommender.engine"
REFIT_AUTO_SECONDS = 900  # RECOMMENDER_REFIT=auto refits on a CPU when the candidate trained faster than this

# Engine options over the engine's defaults: none so far on either device (README gives the demo shop's training
# time on a CPU); a CPU run also gets RECOMMENDER_TRAIN_THREADS torch threads.
CPU_CONFIG: dict = {}
GPU_CONFIG: dict = {}


class TrainingError(RuntimeError):
    """The shop's data cannot train a recommender (with a message a manager can act on)."""


# ------------------------------------------------------------------------------------------- engine seam
def _engine():
    from .engine import api

    return api


def choose_device() -> str:
    """"cuda" when this worker has a GPU, else "cpu" (mlcore.device decides for every trainer)."""
    from mlcore.device import pick_device

    return pick_device().type


def run_config(device: str, requested: dict | None = None) -> dict:
    """Engine options for a run: CPU or GPU defaults < RECOMMENDER_ENGINE_CONFIG < the run's own options."""
    cfg = dict(GPU_CONFIG if device == "cuda" else CPU_CONFIG)
    cfg["device"] = device
    if device == "cpu" and settings.RECOMMENDER_TRAIN_THREADS:
        cfg["threads"] = settings.RECOMMENDER_TRAIN_THREADS
    cfg.update(settings.RECOMMENDER_ENGINE_CONFIG)
    cfg.update(requested or {})
    return cfg


def _full_config(cfg: dict) -> dict:
    from .engine import Config
    from .engine.errors import RecommenderInputError

    try:
        return Config.from_dict(cfg).to_dict()
    except RecommenderInputError as exc:
        raise TrainingError(f"Engine options are invalid: {exc}") from None


def _fit(inter: pd.DataFrame, items: pd.DataFrame, cfg: dict, progress, image_features=None):
    return _engine().fit(inter, items, cfg, progress=progress, image_features=image_features)


# ------------------------------------------------------------------------------------------- data
def _day_start(day: date) -> pd.Timestamp:
    """The first instant of a shop day, in UTC (interaction timestamps are UTC)."""
    tz = timezone.get_current_timezone()
    return pd.Timestamp(datetime.combine(day, datetime.min.time(), tzinfo=tz)).tz_convert("UTC")


def read_data(as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    start = as_of - timedelta(days=settings.RECOMMENDER_HISTORY_DAYS - 1)
    return inputs.interactions(start, as_of), inputs.items()


def _image_features(items: pd.DataFrame) -> dict | None:
    """Photo vectors for the item tower (and so for the content neighbours of new products), computed once per
    photo and cached (ML_CACHE_DIR). RECOMMENDER_IMAGE_FEATURES=auto uses them only with a pretrained backbone (a
    weights file in ML_IMAGE_WEIGHTS, or the packaged EfficientNet-Lite0): a random one adds noise, not signal."""
    mode = settings.RECOMMENDER_IMAGE_FEATURES
    if mode == "false":
        return None
    if mode == "auto" and not pretrained_backbone():
        log.info("no pretrained image backbone: training without photo features")
        return None
    return inputs.image_features(items)


def pretrained_backbone() -> bool:
    from mlcore.images import choose_arch, packaged_weights

    if settings.ML_IMAGE_WEIGHTS:
        return True
    return packaged_weights(choose_arch(settings.ML_IMAGE_ARCH, None)) is not None


# ------------------------------------------------------------------------------------------- bundle
@dataclass
class Bundle:
    model: object            # what serves
    holdout: object | None   # the gate-time weights (None: ``model`` is both)
    meta: dict

    @property
    def gate_model(self):
        return self.holdout if self.holdout is not None else self.model

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr("meta.json", json.dumps({"format": BUNDLE_FORMAT, **self.meta}, default=str))
            z.writestr("model.bin", self.model.to_bytes())
            if self.holdout is not None:
                z.writestr("holdout.bin", self.holdout.to_bytes())
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, parts=("model", "holdout")) -> "Bundle":
        from .engine.errors import RecommenderError

        art = _engine().Artifact
        try:
            with zipfile.ZipFile(io.BytesIO(blob)) as z:
                names = set(z.namelist())
                meta = json.loads(z.read("meta.json"))
                if meta.get("format") != BUNDLE_FORMAT:
                    raise TrainingError(f"unsupported model bundle format {meta.get('format')!r}")
                model = art.from_bytes(z.read("model.bin")) if "model" in parts or "holdout.bin" not in names else None
                holdout = art.from_bytes(z.read("holdout.bin")) if "holdout" in parts and "holdout.bin" in names \
                    else None
        except (zipfile.BadZipFile, KeyError, ValueError, RecommenderError) as exc:
            raise TrainingError(f"the model bundle cannot be read: {exc}") from exc
        return cls(model=model, holdout=holdout, meta=meta)


def load_bundle(version: ModelVersion, parts=("model", "holdout")) -> Bundle:
    return Bundle.from_bytes(registry.load_artifact(version), parts)


# ------------------------------------------------------------------------------------------- the run
def execute_run(run_id: int, task_id: str = "") -> str:
    """Claim a queued run and carry it out. Idempotent: a run that is not queued is left alone."""
    return registry.execute_run(KIND, run_id, train_gate_publish, task_id=task_id,
                                loggers=["recommender", "mlcore", "registry"])


def _epoch_callback(rep: registry.RunReporter, lo: float, hi: float, stage: str):
    def progress(epoch, metrics):
        epochs = max(int(metrics.get("epochs") or 1), 1)
        record = {"epoch": int(epoch), "epochs": epochs, "stage": stage}
        for k in ("train_loss", "loss", "seconds"):
            v = metrics.get(k)
            if v is not None and isinstance(v, (int, float)) and math.isfinite(float(v)):
                record[k] = round(float(v), 5)
        rep.epoch(record, lo + (hi - lo) * min(epoch / epochs, 1.0), stage=f"{stage}: epoch {epoch} of {epochs}")

    return progress


def _should_refit(device: str, candidate_seconds: float) -> bool:
    mode = settings.RECOMMENDER_REFIT
    if mode in ("true", "false"):
        return mode == "true"
    return device == "cuda" or candidate_seconds < REFIT_AUTO_SECONDS


class _Phases:
    """Seconds spent per phase of a run (stored with the model version: ``metrics["seconds"]``)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._name, self._t = None, time.perf_counter()

    def start(self, name: str) -> None:
        now = time.perf_counter()
        if self._name:
            self.seconds[self._name] = round(self.seconds.get(self._name, 0.0) + now - self._t, 2)
        self._name, self._t = name, now

    def done(self) -> dict:
        self.start("")
        return dict(self.seconds)


def train_gate_publish(run: TrainingRun, rep: registry.RunReporter, as_of: date | None = None) -> str:
    t0 = time.perf_counter()
    phases = _Phases()
    phases.start("read")
    device = choose_device()
    as_of = as_of or timezone.localdate() - timedelta(days=1)
    gate_days = max(1, settings.RECOMMENDER_GATE_DAYS)
    cutoff = as_of - timedelta(days=gate_days)
    rep.stage("Reading the shop's interactions", 0.01, device=device)
    inter, items = read_data(as_of)
    if inter.empty:
        raise TrainingError("The shop has no views, add-to-carts or purchases to learn from yet.")
    if items.empty:
        raise TrainingError("The shop has no active products to recommend.")
    split = _day_start(cutoff + timedelta(days=1))
    train = inter[inter["timestamp"] < split]
    if train.empty or not (train["event"] == "purchase").any():
        raise TrainingError(f"Not enough history: the gate holds out the last {gate_days} days ({cutoff + timedelta(1)}"
                            f" to {as_of}) and there are no purchases before them.")
    cfg = run_config(device, run.config)
    full_config = _full_config(cfg)
    first = pd.Timestamp(inter["timestamp"].min()).tz_convert(timezone.get_current_timezone()).date()
    log.info("run #%s: %d interactions (%d before the gate), %d products, %s to %s, device %s", run.pk, len(inter),
             len(train), len(items), first, as_of, device)
    rep.stage("Photo features (computed once per photo, then cached)", 0.03)
    phases.start("photos")
    feats = _image_features(items)

    # 1. the candidate never sees the gate's days
    rep.stage(f"Training the candidate on data to {cutoff}", 0.05)
    phases.start("candidate")
    t_fit = time.perf_counter()
    candidate = _fit(train, items, cfg, _epoch_callback(rep, 0.05, 0.45, "Training the candidate"), feats)
    fit_seconds = time.perf_counter() - t_fit

    # 2. the gate
    rep.stage(f"Gate: NDCG@10 on {cutoff + timedelta(days=1)} to {as_of}", 0.46)
    phases.start("gate")
    serving = registry.serving_version(KIND)
    gate = run_gate(candidate, serving, inter, items, split, cutoff, as_of)
    version = registry.create_version(
        KIND, run=run, engine=ENGINE, engine_config=full_config, data_start=first, data_end=as_of, device=device,
        metrics={"gate": gate, "candidate_training": {"seconds": round(fit_seconds, 1), "losses": candidate.losses}})
    passed, reason = decide(gate, serving)
    if not passed:
        registry.store_artifact(version, Bundle(candidate, None, {"as_of": as_of, "cutoff": cutoff,
                                                                  "refit": False}).to_bytes())
        _finish_version(version, t0, phases)
        registry.reject(version, reason)
        log.warning("run #%s: %s rejected: %s", run.pk, version.label, reason)
        keeps = f" {serving.label} keeps serving." if serving else " Nothing serves yet: the slots show popular products."
        return f"{version.label} rejected: {reason}{keeps}"

    # 3. refit through yesterday with the same options
    model, holdout, refit = candidate, None, _should_refit(device, fit_seconds)
    if refit:
        rep.stage(f"Refitting through {as_of}", 0.5)
        phases.start("refit")
        model = _fit(inter, items, cfg, _epoch_callback(rep, 0.5, 0.85, "Refitting through yesterday"), feats)
        holdout = candidate
    phases.start("store")
    registry.store_artifact(version, Bundle(model, holdout, {"as_of": as_of, "cutoff": cutoff, "refit": refit})
                            .to_bytes())

    # 4. promote, publish
    rep.stage("Recommending for every customer and product", 0.88)
    phases.start("recommend")
    customers, products = recommendations(model, inter, items)
    rep.stage(f"Publishing {len(customers)} customer and {len(products)} product recommendations", 0.94)
    phases.start("publish")
    promoted = {}
    pub = publish(version, customers, products, top=settings.RECOMMENDER_TOP_N,
                  on_swap=lambda: promoted.update(previous=registry.promote(version, reason)))
    previous = promoted["previous"]
    registry.prune_artifacts(KIND)
    _finish_version(version, t0, phases)
    replaced = f", replacing {previous.label}" if previous else ""
    trained = "refitted through" if refit else "trained to"
    return (f"{version.label} promoted{replaced} ({trained} {as_of if refit else cutoff}): {reason} Published "
            f"{pub.n_customers} customers and {pub.n_products} products.")


def _finish_version(version: ModelVersion, t0: float, phases: _Phases) -> None:
    version.metrics = {**version.metrics, "seconds": phases.done()}
    version.duration_seconds = time.perf_counter() - t0
    ModelVersion.objects.filter(pk=version.pk).update(metrics=version.metrics,
                                                      duration_seconds=version.duration_seconds)


# ------------------------------------------------------------------------------------------- the gate
class _ArtifactScorer:
    """A trained artifact as an evaluation scorer over the gate's encoding: the top ``k`` items per user get
    scores in rank order, every other item one lower score (NDCG@10 and HR@10 are exact for k >= 10)."""

    def __init__(self, art, enc, k: int = 100):
        self.art, self.enc, self.k = art, enc, k

    def score(self, users, histories=None):
        ids = [self.enc.user_ids[u] for u in users]
        out = np.full((len(ids), self.enc.n_items), -1.0e9, np.float32)
        k = min(self.k, self.enc.n_items - 1)
        recs = _engine().recommend(self.art, ids, k=k) if ids else None
        if recs is None or recs.empty:
            return out
        row = {u: r for r, u in enumerate(ids)}
        col = recs["item_id"].map(self.enc.item_index)
        ok = col.notna().to_numpy()
        out[recs["user_id"].map(row).to_numpy()[ok], col.to_numpy()[ok].astype(np.int64)] = \
            (k + 1 - recs["rank"].to_numpy()[ok]).astype(np.float32)
        return out


DEFAULT_GATE_BASELINES = ("popularity", "itemknn", "tifu")  # "tifu": the repeat-aware TIFU-KNN, when present


def gate_baselines() -> dict:
    """The baselines of the gate: RECOMMENDER_GATE_BASELINES (every name must exist in the engine), or by default
    those of DEFAULT_GATE_BASELINES the engine has."""
    from .engine.evaluate import MODELS

    names = list(dict.fromkeys(settings.RECOMMENDER_GATE_BASELINES))
    if not names:
        return {n: MODELS[n] for n in DEFAULT_GATE_BASELINES if n in MODELS}
    unknown = [n for n in names if n not in MODELS or n == "dnn"]
    if unknown:
        raise TrainingError(f"RECOMMENDER_GATE_BASELINES names {unknown}, which the engine does not have; choose from "
                            f"{sorted(n for n in MODELS if n != 'dnn')}.")
    return {n: MODELS[n] for n in names}


def _metrics(res: dict) -> dict:
    return {k: (None if res.get(k) is None or not math.isfinite(res[k]) else round(float(res[k]), 5))
            for k in ("NDCG@10", "HR@10", "coverage")}


def run_gate(candidate, serving: ModelVersion | None, inter: pd.DataFrame, items: pd.DataFrame,
             split: pd.Timestamp, cutoff: date, as_of: date) -> dict:
    from .engine.data import validate_interactions, validate_items
    from .engine.evaluate import evaluate, prepare

    end = _day_start(as_of + timedelta(days=1))
    naive = lambda t: t.tz_convert("UTC").tz_localize(None)  # noqa: E731 - the engine's timestamps are naive UTC
    prep = prepare(validate_interactions(inter), validate_items(items), naive(split), naive(end), mode="user")
    gate = {"window": [str(cutoff + timedelta(days=1)), str(as_of)], "users": len(prep.ev.targets),
            "train_events": prep.info["train_events"], "catalog": prep.info["catalog"], "scores": {}}
    if not len(prep.ev.targets):
        return gate
    scores = gate["scores"]
    scores["candidate"] = _metrics(evaluate(_ArtifactScorer(candidate, prep.enc), prep, repeat=True))
    if serving is not None:
        try:
            bundle = load_bundle(serving, parts=("holdout",))
            cut = bundle.meta.get("cutoff")
            if cut is not None and date.fromisoformat(str(cut)) <= cutoff:
                scores["serving"] = {**_metrics(evaluate(_ArtifactScorer(bundle.gate_model, prep.enc), prep,
                                                         repeat=True)), "version": serving.pk,
                                     "trained_to": str(cut)}
            else:
                gate["serving_note"] = f"{serving.label} trained on these days (to {cut}); not comparable"
        except Exception as exc:  # noqa: BLE001 - an unreadable serving artifact must not block a good candidate
            log.warning("gate: the serving model %s cannot be scored: %s", serving.label, exc)
            gate["serving_note"] = f"{serving.label} could not be scored: {exc}"
    for name, cls in gate_baselines().items():
        model = cls(seed=0).fit(prep.enc, prep.content)
        scores[name] = _metrics(evaluate(model, prep, repeat=True))
    return gate


def decide(gate: dict, serving: ModelVersion | None) -> tuple[bool, str]:
    """(promote?, reason). The candidate must be scored on enough customers, be at least as good as every baseline,
    and not worse than the serving model by more than RECOMMENDER_GATE_TOLERANCE (a fresher model that is as good
    as the staler one it replaces should serve: the two differ by noise)."""
    window = " to ".join(gate.get("window", []))
    n, need = gate.get("users", 0), settings.RECOMMENDER_GATE_MIN_USERS
    if n < need:
        return False, (f"only {n} customer(s) seen before {window.split(' to ')[0]} bought something in the gate days "
                       f"({window}); at least {need} are needed to judge a model (RECOMMENDER_GATE_MIN_USERS).")
    scores = gate["scores"]
    cand = scores["candidate"]["NDCG@10"] or 0.0
    tol = settings.RECOMMENDER_GATE_TOLERANCE

    def label(name):
        return f"the serving model {serving.label}" if name == "serving" and serving else name

    others = {k: v["NDCG@10"] or 0.0 for k, v in scores.items() if k != "candidate"}
    losers = {k: v for k, v in others.items() if cand < v - (tol if k == "serving" else 0.0)}
    where = f"on {window} ({n} customers)"
    if losers:
        against = ", ".join(f"{label(k)} {v:.4f}" for k, v in sorted(losers.items(), key=lambda kv: -kv[1]))
        slack = f" (by more than {tol:g})" if "serving" in losers and tol else ""
        return False, f"NDCG@10 {cand:.4f} is below {against}{slack} {where}."
    beats = ", ".join(f"{label(k)} {v:.4f}" for k, v in others.items())
    return True, f"NDCG@10 {cand:.4f} {where}" + (f"; none is higher: {beats}." if beats and
                                                      cand >= max(others.values()) else
                                                      f"; baselines and the model serving: {beats}." if beats else ".")


# ------------------------------------------------------------------------------------------- publishing
def recommendations(model, inter: pd.DataFrame, items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per customer rows, per product rows) of a trained model, for the products that may be shown now."""
    api = _engine()
    top = settings.RECOMMENDER_TOP_N
    available = inputs.available_items()
    users = [u for u in model.user_ids[1:] if isinstance(u, str) and u.isdigit()]
    cust = api.recommend(model, users, k=top, available_items=available) if users else pd.DataFrame(
        columns=["user_id", "rank", "item_id", "score"])
    cust = cust.rename(columns={"item_id": "product_id"})
    sim = api.similar(model, items["item_id"].tolist(), k=top, available_items=available)
    bought = set(inter.loc[inter["event"] == "purchase", "item_id"].astype(str))
    prod = sim.rename(columns={"item_id": "source_id", "similar_item_id": "product_id"})
    prod["basis"] = np.where(prod["source_id"].isin(bought), "bought", "content")
    return cust[["user_id", "rank", "product_id", "score"]], prod[["source_id", "rank", "product_id", "score",
                                                                     "basis"]]


def publish_serving(force: bool = False):
    """Publish the serving model's recommendations again (stock and catalog of now). Skipped (returns the live
    publication) when the serving model's rows are live and published today, unless ``force``. None when no
    model serves."""
    version = registry.serving_version(KIND)
    if version is None:
        return None
    live = live_publication()
    if live is not None and not force and live.version_id == version.pk and \
            timezone.localdate(live.published_at) == timezone.localdate():
        return live
    bundle = load_bundle(version, parts=("model",))
    as_of = timezone.localdate() - timedelta(days=1)
    inter, items = read_data(as_of)
    customers, products = recommendations(bundle.model, inter, items)
    return publish(version, customers, products, top=settings.RECOMMENDER_TOP_N)
