"""The ONNX export of all-MiniLM-L6-v2 gives the sentence vectors sentence-transformers gives, without torch."""
import json
import subprocess
import sys

import numpy as np
import pytest

from chatbot.engine import ArtifactError
from chatbot.engine.encoder import OnnxEncoder
from chatbot.engine.export import load_sentence_transformer
from tests.conftest import ROOT

SENTENCES = ["how much is the harbor lamp?", "where is my order 261122-8F3A01BC", "hi",
             "Do you ship to Austria or only to Germany? I need it by Friday."]


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(encoder_dir):
    """int8 weights move each vector a little (cosine 0.92-0.97 to the float ones here) but keep what is near
    what: a paraphrase stays closer than an unrelated question. The classifier trains and serves on the same
    int8 vectors, and its accuracy is measured with them (benchmarks/chatbot)."""
    pairs = SENTENCES + ["what does the harbor lamp cost", "can I pay by card?"]
    onnx = OnnxEncoder(encoder_dir).encode(pairs)
    ref = load_sentence_transformer().encode(pairs, normalize_embeddings=True)
    assert onnx.shape == (6, 384)
    np.testing.assert_allclose(np.linalg.norm(onnx, axis=1), 1.0, rtol=1e-5)
    assert (np.sum(onnx * ref, axis=1) > 0.9).all()
    sim = onnx @ onnx.T
    assert sim[0, 4] > sim[0, 5] + 0.2 and sim[0, 4] > sim[0, 2] + 0.2  # the paraphrase is nearest
    assert np.argsort(-sim[0])[1] == np.argsort(-(ref @ ref.T)[0])[1]


def test_onnx_encoder_loads_without_torch(encoder_dir):
    code = ("import sys; from chatbot.engine.encoder import OnnxEncoder; "
            f"v = OnnxEncoder({str(encoder_dir)!r}).encode(['hello there']); "
            "print(v.shape, 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(1, 384) False"


def test_a_tampered_encoder_is_refused(encoder_dir, tmp_path):
    import shutil

    copy = tmp_path / "enc"
    shutil.copytree(encoder_dir, copy)
    meta = json.loads((copy / "encoder.json").read_text())
    meta["tokenizer_sha256"] = "0" * 64
    (copy / "encoder.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        OnnxEncoder(copy)
