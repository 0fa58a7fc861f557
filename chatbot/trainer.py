"""Worker-side training: export the sentence encoder when none is stored yet (torch), then train.

Imported by the worker's tasks (chatbot.worker_tasks) and by manage.py chat_train only, never by the web process
(the import rules check that nothing the web imports reaches torch).
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from django.core.files.storage import default_storage

from . import training
from .engine.encoder import FILES, OnnxEncoder
from .engine.export import export_onnx

log = logging.getLogger(__name__)


def ensure_encoder() -> OnnxEncoder:
    """The stored encoder, or all-MiniLM-L6-v2 exported now (torch) and stored for every process."""
    stored = training.stored_encoder()
    if stored is not None:
        return stored
    with tempfile.TemporaryDirectory() as tmp:
        meta = export_onnx(tmp)
        for name in FILES:
            target = f"{training.STORAGE_PREFIX}/{meta['id']}/{name}"
            if not default_storage.exists(target):
                with open(Path(tmp) / name, "rb") as fh:
                    default_storage.save(target, fh)
        local = training._cache_dir() / meta["id"]
        if not (local / "encoder.json").exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(tmp, local, dirs_exist_ok=True)
    log.info("chat assistant: sentence encoder %s exported and stored", meta["id"])
    return training.load_encoder(meta["id"])


def train(force: bool = False):
    try:
        encoder = ensure_encoder()
    except Exception as exc:  # noqa: BLE001 - no torch, no weights, a storage error: TF-IDF still serves
        log.warning("chat assistant: cannot export the sentence encoder (%s)", exc)
        encoder = None
    return training.train(force=force, encoder=encoder)
