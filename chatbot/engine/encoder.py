"""Sentence vectors for the embedding classifier: all-MiniLM-L6-v2 (mean-pooled, unit length) on ONNX Runtime +
the ``tokenizers`` library, no torch. What the web process uses.

The export, and sentence-transformers on torch, live in ``export.py``, which the web process never imports.

``export.export_onnx(out_dir)`` writes ``model.onnx`` (dynamic int8 quantisation by default: a quarter of the size and
about 3 times as fast, 8 vs 23 ms a question on one thread; vectors within 0.92-0.97 cosine of the float ones,
paraphrases still nearest; the classifier trains and serves on these same vectors, and its accuracy is measured
with them), the ``tokenizer.json`` and ``encoder.json`` (name, dimension, sha256 of both files). It needs torch and transformers
and runs once, in a worker or on the command line (``python -m chatbot.engine export-encoder --out DIR``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .errors import ArtifactError

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 128  # questions are short; the model was trained on up to 128 word pieces
FILES = ("model.onnx", "tokenizer.json", "encoder.json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class OnnxEncoder:
    """all-MiniLM-L6-v2 on ONNX Runtime: ``encode(texts) -> float32 [n, 384]``, unit-length rows."""

    def __init__(self, folder, threads: int = 1, verify: bool = True):
        folder = Path(folder)
        try:
            self.meta = json.loads((folder / "encoder.json").read_text())
        except FileNotFoundError:
            raise ArtifactError(f"encoder: {folder} has no encoder.json (export it first)") from None
        if verify:
            for name, key in (("model.onnx", "model_sha256"), ("tokenizer.json", "tokenizer_sha256")):
                if _sha256(folder / name) != self.meta[key]:
                    raise ArtifactError(f"encoder: {folder / name} does not match its sha256 in encoder.json")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(folder / "model.onnx"), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(self.meta.get("max_tokens", MAX_TOKENS)))
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.id = self.meta["id"]

    def encode(self, texts, batch_size: int = 64, **_ignored) -> np.ndarray:
        out = []
        texts = list(texts)
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer.encode_batch(texts[start:start + batch_size])
            ids = np.asarray([b.ids for b in batch], dtype=np.int64)
            mask = np.asarray([b.attention_mask for b in batch], dtype=np.int64)
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            summed = (hidden * mask[..., None]).sum(axis=1)
            vec = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out.append(vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12))
        if not out:
            return np.zeros((0, int(self.meta.get("dim", 384))), dtype=np.float32)
        return np.vstack(out).astype(np.float32)


