"""Grouping questions by similarity (the unanswered-questions list): near-duplicates and paraphrases together.

Texts are normalised and deduplicated, turned into TF-IDF vectors of word and character n-grams, and joined by
average-linkage agglomerative clustering on cosine distance, cut at ``max_distance``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .text import for_classifier


@dataclass
class Group:
    members: list[int]  # indexes into the texts given, most frequent wording first
    representative: int  # the most asked wording


def group_texts(texts: Sequence[str], max_distance: float = 0.85) -> list[Group]:
    """Groups of similar texts, the biggest first (ties: in order of first appearance)."""
    keys = [for_classifier(t) for t in texts]
    uniq: dict[str, list[int]] = {}
    for k, key in enumerate(keys):
        uniq.setdefault(key, []).append(k)
    distinct = list(uniq)
    if not distinct:
        return []
    if len(distinct) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        features = FeatureUnion([
            ("word", TfidfVectorizer(analyzer="word", token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), sublinear_tf=True)),
        ])
        X = features.fit_transform(distinct).toarray()
        X /= np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        labels = AgglomerativeClustering(n_clusters=None, distance_threshold=max_distance, metric="cosine",
                                         linkage="average").fit_predict(X)
    groups: dict[int, list[str]] = {}
    for key, label in zip(distinct, labels):
        groups.setdefault(int(label), []).append(key)
    out = []
    for members in groups.values():
        members.sort(key=lambda key: (-len(uniq[key]), uniq[key][0]))
        idx = [k for key in members for k in uniq[key]]
        out.append(Group(members=idx, representative=uniq[members[0]][0]))
    out.sort(key=lambda g: (-len(g.members), min(g.members)))
    return out
