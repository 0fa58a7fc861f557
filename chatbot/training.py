"""Training and serving the intent classifier.

Examples = the phrases shipped in chatbot/data/intents.csv + every active FAQ entry's question and example
questions (intent ``faq:<slug>``). Product names in them are masked the way questions are at answer time
("is the {product} in stock" / "is the Harbor Lamp in stock" -> "is the product in stock").

The served kind is the engine's ``embedding`` classifier: all-MiniLM-L6-v2 sentence vectors (+ n-grams) and a
logistic regression, chosen on validation over TF-IDF alone (benchmarks/chatbot/README.md). Its encoder runs on
ONNX Runtime, so the web process never imports torch: a worker or ``manage.py chat_train`` exports the encoder
once (``chatbot/trainer.py``, torch), keeps it in the configured storage (``chatbot/encoder/<id>/``) and every
process caches a local copy. This module never exports: where no encoder is stored yet, it trains TF-IDF and
says so.

Retraining is queued by name (``chatbot.worker_tasks.train_intents``, which exports the encoder first when it
is missing), so the web process's imports never reach torch; with eager tasks (local mode, tests) it runs here,
on the stored encoder.

``train()`` fits (validation split, threshold, refit), stores the artifact with its sha256, and promotes it in one
transaction; a training that fails is recorded as failed and the serving model keeps serving. It is skipped when
the serving model was trained on exactly the same examples and config (``force`` trains anyway).

``serving_classifier()`` is what the web process calls: it loads the serving artifact once per process (checking
its sha256) and reloads when another model is promoted. It never trains.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from .engine import ChatEngineError, IntentClassifier
from .engine.encoder import FILES, OnnxEncoder
from .models import FaqEntry, IntentModel

log = logging.getLogger(__name__)
DATA = Path(__file__).resolve().parent / "data"
PHRASES = DATA / "intents.csv"
TRAIN_LOCK = "chatbot:train-lock"
PLACEHOLDER = "{product}"
EMBEDDING = {"kind": "embedding", "encoder": "onnx", "C": 20.0, "tfidf_weight": 0.5}
TFIDF = {"kind": "tfidf", "C": 20.0}
STORAGE_PREFIX = "chatbot/encoder"


class TrainingBusy(Exception):
    pass


def shipped_examples() -> list[tuple[str, str]]:
    from .engine.entities import MASK

    with PHRASES.open(newline="", encoding="utf-8") as fh:
        return [(row["text"].replace(PLACEHOLDER, MASK), row["intent"]) for row in csv.DictReader(fh)]


def faq_examples() -> list[tuple[str, str]]:
    from .dialog import catalog_index

    index = catalog_index()
    out = []
    for entry in FaqEntry.objects.filter(is_active=True).exclude(answer=""):
        out.extend((index.mask(text), entry.intent) for text in entry.example_list())
    return out


def examples() -> list[tuple[str, str]]:
    rows = shipped_examples() + faq_examples()
    rows.sort()
    return rows


def data_hash(rows, config) -> str:
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for text, intent in rows:
        h.update(f"{intent}\t{text}\n".encode())
    return h.hexdigest()


# -- the sentence encoder ------------------------------------------------------------------------------------------
_encoders: dict[str, OnnxEncoder] = {}
_encoder_lock = threading.Lock()


def _cache_dir() -> Path:
    return Path(getattr(settings, "CHATBOT_ENCODER_CACHE", None) or (settings.VAR_DIR / "chatbot-encoder"))


def _download(encoder_id: str) -> Path:
    """The encoder's files in the local cache, fetched from the configured storage when missing."""
    local = _cache_dir() / encoder_id
    if (local / "encoder.json").exists():
        return local
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=local.parent))
    try:
        for name in FILES:
            with default_storage.open(f"{STORAGE_PREFIX}/{encoder_id}/{name}", "rb") as src, \
                    open(tmp / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
        try:
            tmp.rename(local)
        except OSError:  # another process won the race
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return local


def load_encoder(encoder_id: str) -> OnnxEncoder:
    """The ONNX encoder with this id, loaded once per process (files checked against their sha256)."""
    if encoder_id not in _encoders:
        with _encoder_lock:
            if encoder_id not in _encoders:
                _encoders[encoder_id] = OnnxEncoder(_download(encoder_id),
                                                    threads=getattr(settings, "CHATBOT_ENCODER_THREADS", 1))
    return _encoders[encoder_id]


def stored_encoder() -> OnnxEncoder | None:
    """The encoder the last models were trained with, if it is in the storage (None before the first export)."""
    known = (IntentModel.objects.exclude(encoder_id="").filter(status__in=[IntentModel.Status.SERVING,
                                                                          IntentModel.Status.RETIRED])
             .values_list("encoder_id", flat=True).first())
    if known and default_storage.exists(f"{STORAGE_PREFIX}/{known}/encoder.json"):
        return load_encoder(known)
    return None


# -- training --------------------------------------------------------------------------------------------------------
def train(force: bool = False, encoder: OnnxEncoder | None = None) -> IntentModel | None:
    """Train and promote a classifier; None when the serving one already has these examples. `encoder`: the ONNX
    encoder to use (default: the stored one; none stored: TF-IDF)."""
    rows = examples()
    config = dict(EMBEDDING)
    digest = data_hash(rows, config)
    serving = IntentModel.objects.filter(status=IntentModel.Status.SERVING).first()
    if serving and serving.data_hash == digest and not force:
        return None
    if not cache.add(TRAIN_LOCK, "1", timeout=900):
        raise TrainingBusy("another training of the chat assistant is running")
    run = IntentModel.objects.create(kind=config["kind"], data_hash=digest, n_examples=len(rows))
    started = time.perf_counter()
    try:
        if encoder is None:
            try:
                encoder = stored_encoder()
            except (ChatEngineError, OSError) as exc:
                log.warning("chat assistant: the stored sentence encoder cannot be loaded (%s)", exc)
        if encoder is None:
            log.warning("chat assistant: no sentence encoder yet (manage.py chat_train exports it); training the "
                        "TF-IDF classifier instead")
            config = dict(TFIDF)
        texts, intents = [t for t, _ in rows], [i for _, i in rows]
        clf = IntentClassifier.fit(texts, intents, config, encoder=encoder)
        blob = clf.to_bytes()
        sha = hashlib.sha256(blob).hexdigest()
        name = default_storage.save(f"chatbot/models/intents-{run.pk}-{sha[:12]}.bin", ContentFile(blob))
        with transaction.atomic():
            IntentModel.objects.select_for_update().filter(status=IntentModel.Status.SERVING).update(
                status=IntentModel.Status.RETIRED)
            run.status = IntentModel.Status.SERVING
            run.kind, run.encoder_id = config["kind"], clf.encoder_id or ""
            run.artifact, run.sha256 = name, sha
            run.n_intents, run.threshold, run.metrics = len(clf.labels), clf.threshold, clf.metrics
            run.finished_at, run.duration_s = timezone.now(), round(time.perf_counter() - started, 2)
            run.save()
        _loaded["checked"] = 0.0  # this process serves the new one at once
        log.info("chat assistant: intent model %s serving (%s)", run.pk, clf.metrics)
        return run
    except Exception as exc:
        IntentModel.objects.filter(pk=run.pk).update(status=IntentModel.Status.FAILED, error=repr(exc)[:2000],
                                                     finished_at=timezone.now())
        log.exception("chat assistant: training failed; the serving model keeps serving")
        raise
    finally:
        cache.delete(TRAIN_LOCK)


TRAIN_TASK = "chatbot.worker_tasks.train_intents"


def enqueue(force: bool = False) -> bool:
    """Ask a worker to retrain (by task name: see the module docstring); with eager tasks, train here. Never
    raises: a broker that is down leaves the serving model serving (the admin's "Retrain now" tries again)."""
    from celery import current_app as app

    if app.conf.task_always_eager:
        try:
            train(force=force)
        except TrainingBusy:
            log.info("chat assistant: a training is running; it will be retrained by the next change")
        return True
    timeout = settings.REDIS_TIMEOUT
    try:
        with app.connection_for_write(connect_timeout=timeout, transport_options={
                "socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}) as conn:
            app.send_task(TRAIN_TASK, kwargs={"force": force}, connection=conn, retry=False, ignore_result=True)
        return True
    except Exception as exc:  # noqa: BLE001 - whatever the broker raised
        log.warning("chat assistant: could not queue its training (%s: %s)", exc.__class__.__name__, exc)
        return False


def schedule(force: bool = False) -> None:
    """Retrain once the current transaction commits (FAQ edits, the admin's button)."""
    transaction.on_commit(lambda: enqueue(force=force))


# -- serving -----------------------------------------------------------------------------------------------------------
_loaded: dict = {"id": None, "clf": None, "checked": 0.0}
_load_lock = threading.Lock()


def serving_classifier() -> IntentClassifier | None:
    """The serving classifier (cached per process; which one serves is checked every CHATBOT_CACHE_SECONDS), or
    None before the first training."""
    now = time.monotonic()
    if _loaded["clf"] is not None and now - _loaded["checked"] < settings.CHATBOT_CACHE_SECONDS:
        return _loaded["clf"]
    _loaded["checked"] = now
    row = (IntentModel.objects.filter(status=IntentModel.Status.SERVING)
           .values_list("pk", "artifact", "sha256", "encoder_id").first())
    if row is None:
        return None
    pk, name, sha, encoder_id = row
    if _loaded["id"] == pk:
        return _loaded["clf"]
    with _load_lock:
        if _loaded["id"] != pk:
            with default_storage.open(name, "rb") as fh:
                blob = fh.read()
            if hashlib.sha256(blob).hexdigest() != sha:
                log.error("chat assistant: artifact %s does not match its sha256; not loaded", name)
                return _loaded["clf"]
            clf = IntentClassifier.from_bytes(blob)
            if encoder_id:
                clf.set_encoder(load_encoder(encoder_id))
            clf.memo_size = max(0, int(getattr(settings, "CHATBOT_PREDICTION_CACHE", 0)))
            _loaded["clf"], _loaded["id"] = clf, pk
    return _loaded["clf"]
