"""Item content features: category, price band, bag of words over name + description, optional image vectors.

Everything is computed from the catalog only (no interactions), so new items without any interaction still get
a content representation, which the DNN's item tower turns into a vector ("new items get content neighbours").
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a an and the of for with in on to by or set pack x is are de la le".split())


def tokenize(text: str) -> list[str]:
    return [w for w in _TOKEN.findall(str(text).lower()) if len(w) > 1 and w not in _STOP and not w.isdigit()]


@dataclass
class ItemContent:
    category: np.ndarray  # (n_items,) int, 0 = unknown
    price_band: np.ndarray  # (n_items,) int, 0 = unknown, 1..n_bands
    tokens: np.ndarray  # (n_items, max_tokens) int, 0 = padding
    image: np.ndarray | None  # (n_items, d) float32 or None
    categories: list  # index -> category name
    vocab: list  # index -> word
    price_edges: np.ndarray

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def n_bands(self) -> int:
        return len(self.price_edges) + 2

    @property
    def n_words(self) -> int:
        return len(self.vocab)

    def to_state(self) -> dict:
        return {
            "category": self.category, "price_band": self.price_band, "tokens": self.tokens, "image": self.image,
            "categories": list(self.categories), "vocab": list(self.vocab), "price_edges": self.price_edges,
        }

    @classmethod
    def from_state(cls, s: dict) -> "ItemContent":
        return cls(**s)


def build_content(item_ids: list, items: pd.DataFrame, *, n_price_bands: int = 10, max_vocab: int = 5000,
               max_tokens: int = 16, image_features: dict | None = None) -> ItemContent:
    """Content arrays aligned with ``item_ids`` (index 0 is the unknown item).

    ``image_features`` maps item_id -> 1-D vector (e.g. from ``recommender.engine.images``); items without one get
    zeros, and the model is told which items have one.
    """
    n = len(item_ids)
    by_id = items.set_index("item_id") if len(items) else None
    cats = ["<unk>"]
    cat_index = {}
    category = np.zeros(n, np.int64)
    prices = np.full(n, np.nan)
    texts = [""] * n
    if by_id is not None:
        rows = by_id.reindex(item_ids)
        for k in range(1, n):
            c = rows["category"].iloc[k]
            if isinstance(c, str) and c.strip():
                if c not in cat_index:
                    cat_index[c] = len(cats)
                    cats.append(c)
                category[k] = cat_index[c]
        prices = rows["price"].to_numpy(dtype=float)
        prices[0] = np.nan
        texts = (rows["name"].fillna("").astype(str) + " " + rows["description"].fillna("").astype(str)).tolist()
        texts[0] = ""
    valid = np.isfinite(prices) & (prices > 0)
    if valid.sum() >= n_price_bands:
        edges = np.unique(np.quantile(np.log(prices[valid]), np.linspace(0, 1, n_price_bands + 1)[1:-1]))
    else:
        edges = np.zeros(0)
    band = np.zeros(n, np.int64)
    band[valid] = 1 + np.searchsorted(edges, np.log(prices[valid]), side="right")
    toks = [tokenize(t) for t in texts]
    counts = Counter(w for ts in toks for w in set(ts))
    vocab = ["<pad>"] + [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= 2][:max_vocab]
    windex = {w: k for k, w in enumerate(vocab)}
    tokens = np.zeros((n, max_tokens), np.int64)
    for k, ts in enumerate(toks):
        ids = [windex[w] for w in dict.fromkeys(ts) if w in windex][:max_tokens]
        tokens[k, : len(ids)] = ids
    image = None
    if image_features:
        dim = len(next(iter(image_features.values())))
        image = np.zeros((n, dim + 1), np.float32)  # last column: "has an image"
        for k, iid in enumerate(item_ids):
            v = image_features.get(iid)
            if v is not None:
                v = np.asarray(v, np.float32).ravel()
                norm = np.linalg.norm(v) or 1.0
                image[k, :dim] = v / norm
                image[k, dim] = 1.0
    return ItemContent(category, band, tokens, image, cats, vocab, edges)
