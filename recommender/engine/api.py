"""The Python API the Django side calls. DataFrames in and out, in the documented CSV formats (see ``data.py``).

    art = fit(interactions, items, {"epochs": 10}, progress=lambda epoch, metrics: ..., train_until="2024-03-31")
    blob = art.to_bytes();  art = Artifact.from_bytes(blob)
    predict(art, ["u1", "u2"], k=10)                          # = recommend(...)
    recommend(art, ["u1", "u2"], k=10, exclude={"u1": ["sku9"]}, available_items=in_stock_ids)
    recommend_for_history(art, ["sku1", "sku7"], k=10)        # anonymous session / new user, computed live
    similar(art, ["sku1"], k=10)                               # "customers also bought"
"""
from __future__ import annotations

import sys
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import torch

from mlcore import artifact as _bytes
from mlcore.progress import as_progress

from .config import Config
from .data import Encoded, encode, validate_interactions, validate_items
from .dnn import DNNModel, pick_device
from .hybrid import HybridModel
from .errors import ArtifactError, RecommenderInputError
from .features import ItemContent, build_content
from .sequences import DAY

ARTIFACT_VERSION = 2  # 2: optional "hybrid" state (the served model); version 1 artifacts (DNN only) still load
READABLE_VERSIONS = (1, 2)
_MAGIC = "recommender.engine.artifact"


def _interned(obj):
    """Equal strings as one object, so that a loaded artifact pickles to exactly the bytes it was read from."""
    if isinstance(obj, str):
        return sys.intern(obj)
    if isinstance(obj, dict):
        return {_interned(k): _interned(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_interned(v) for v in obj]
    return obj


class Artifact:
    """A trained recommender: config, id maps, item content, network weights and training histories."""

    def __init__(self, cfg: Config, item_ids: list, user_ids: list, catalog: np.ndarray, content: ItemContent,
                 model: DNNModel, popularity: np.ndarray, trained_until: str, train_until: str | None = None,
                 hybrid: HybridModel | None = None):
        self.config = cfg
        self.item_ids = item_ids
        self.user_ids = user_ids
        self.item_index = {x: k for k, x in enumerate(item_ids)}
        self.user_index = {x: k for k, x in enumerate(user_ids)}
        self.catalog = catalog  # bool (n_items,): in the item table given at fit time
        self.content = content
        self.model = model
        self.popularity = popularity  # recent popularity per item
        self.trained_until = trained_until  # timestamp of the last event learned from
        self.train_until = train_until or str(trained_until)[:10]  # YYYY-MM-DD: the cutoff day (both engines)
        self.hybrid = hybrid  # the served model when config.model == "hybrid" (its DNN is ``model``)
        seq = model.seq
        bought = seq.e == 2
        self._bought_u, self._bought_i = seq.u[bought], seq.i[bought]

    @property
    def losses(self) -> list:
        return list(self.model.losses)

    def purchased(self, u: int) -> np.ndarray:
        s, e = np.searchsorted(self._bought_u, [u, u + 1])
        return self._bought_i[s:e]

    def to_bytes(self) -> bytes:
        state = {
            "config": self.config.to_dict(), "item_ids": list(self.item_ids), "user_ids": list(self.user_ids),
            "catalog": self.catalog, "content": self.content.to_state(), "model": self.model.state(),
            "popularity": self.popularity, "trained_until": self.trained_until, "train_until": self.train_until,
        }
        if self.hybrid is not None:
            state["hybrid"] = self.hybrid.state()
        return _bytes.to_bytes(_interned(state), magic=_MAGIC, version=ARTIFACT_VERSION)

    @classmethod
    def from_bytes(cls, blob: bytes, device: str | None = None) -> "Artifact":
        _, state = _bytes.from_bytes(blob, magic=_MAGIC, versions=READABLE_VERSIONS, error=ArtifactError,
                                     what="recommender artifact")
        cfg = Config.from_dict({**state["config"], "model": "hybrid" if "hybrid" in state else "dnn"})
        if device:
            cfg.device = device
        content = ItemContent.from_state(state["content"])
        model = DNNModel.from_state(cfg, state["model"], content)
        hybrid = HybridModel.from_state(cfg, state["hybrid"], model) if "hybrid" in state else None
        return cls(cfg, state["item_ids"], state["user_ids"], state["catalog"], content, model,
                   state["popularity"], state["trained_until"], state.get("train_until"), hybrid)

    def save(self, path) -> None:
        with open(path, "wb") as fh:
            fh.write(self.to_bytes())

    @classmethod
    def load(cls, path, device: str | None = None) -> "Artifact":
        try:
            with open(path, "rb") as fh:
                blob = fh.read()
        except FileNotFoundError:
            raise ArtifactError(f"artifact file not found: {path}") from None
        return cls.from_bytes(blob, device)


def recent_popularity(enc: Encoded, event_weights: dict, days: float) -> np.ndarray:
    from .sequences import event_weight_array

    ew = event_weight_array(event_weights)
    pop = np.zeros(enc.n_items)
    recent = enc.t >= enc.t_end - days * DAY
    np.add.at(pop, enc.i[recent], ew[enc.e[recent]])
    # tie-break and back-fill with all-time popularity
    allp = np.zeros(enc.n_items)
    np.add.at(allp, enc.i, ew[enc.e])
    return pop + 1e-6 * allp / max(allp.max(), 1.0)


def fit(interactions: pd.DataFrame, items: pd.DataFrame | None = None, config: dict | Config | None = None,
        progress: Callable[[int, dict], None] | None = None, image_features: dict | None = None,
        verbose: bool | None = None, train_until=None) -> Artifact:
    """Train the served model on the interactions up to the end of the ``train_until`` day (default: all of
    them): ``config["model"]`` "hybrid" (default; TIFU-KNN, the DNN and item-kNN re-ranked by LightGBM, see
    ``hybrid.py``) or "dnn" (the DNN alone).

    ``progress(epoch, {"epochs", "train_loss", "seconds", "loss"})`` is called after every DNN epoch. The hybrid
    fits its DNN ``ranker.windows + 1`` times: its ``epoch`` counts the epochs of all of them, ``epochs`` is their
    total and ``stage`` says which fit ("window 1/3", ..., "final"). ``image_features`` maps item_id -> vector
    (optional). Raises :class:`RecommenderInputError` on malformed input.
    """
    from .data import cut

    cfg = Config.from_dict(config)
    progress = as_progress(progress)
    inter = validate_interactions(interactions)
    if train_until is not None:
        inter = cut(inter, train_until)
        if len(inter) == 0:
            raise RecommenderInputError(f"no interactions on or before --train-until {train_until}")
    items_v = validate_items(items)
    enc = encode(inter, items_v)
    content = build_content(enc.item_ids, items_v, n_price_bands=cfg.n_price_bands, max_vocab=cfg.max_vocab,
                            max_tokens=cfg.max_tokens, image_features=image_features)
    hybrid = None
    if cfg.model == "hybrid":
        hybrid = HybridModel(cfg, cfg.tifu, cfg.ranker).fit(enc, content, progress=progress)
        model = hybrid.dnn
    else:
        model = DNNModel(cfg).fit(enc, content, progress=progress, verbose=verbose)
    catalog = np.zeros(enc.n_items, bool)
    if len(items_v):
        catalog[[enc.item_index[x] for x in items_v["item_id"]]] = True
    else:
        catalog[1:] = True
    pop = recent_popularity(enc, cfg.event_weights, cfg.popular_days)
    until = str(inter["timestamp"].max())
    cutoff = None if train_until is None else str(pd.Timestamp(train_until).date())
    return Artifact(cfg, enc.item_ids, enc.user_ids, catalog, content, model, pop, until, cutoff, hybrid)


def fit_until(interactions, items, train_until, config=None, progress=None, **kw) -> Artifact:
    """``fit(..., train_until=train_until)`` (the older name): a date means the whole day is training data."""
    return fit(interactions, items, config, progress, train_until=train_until, **kw)


def _allowed_mask(art: Artifact, available_items: Iterable | None) -> np.ndarray:
    mask = art.catalog.copy()
    mask[0] = False
    if available_items is not None:
        avail = np.zeros_like(mask)
        idx = [art.item_index[x] for x in map(str, available_items) if x in art.item_index]
        avail[idx] = True
        mask &= avail
    return mask


def _topk(scores: np.ndarray, allowed: np.ndarray, k: int):
    """scores (B, n) with disallowed entries already -inf; returns (idx, prob) per row, prob = softmax over
    the allowed catalog."""
    s = torch.as_tensor(scores)
    k = min(k, int(allowed.sum()))
    if k <= 0:
        return np.zeros((len(scores), 0), np.int64), np.zeros((len(scores), 0))
    logz = torch.logsumexp(s, 1, keepdim=True)
    val, idx = torch.topk(s, k, dim=1)
    prob = torch.exp(val - logz)
    return idx.numpy(), prob.numpy()


def _exclusions(exclude, uid):
    if exclude is None:
        return ()
    if isinstance(exclude, dict):
        return exclude.get(uid, ())
    return exclude


def recommend(art: Artifact, user_ids: Iterable | None = None, k: int = 10, exclude=None,
              available_items: Iterable | None = None, batch_size: int = 1024) -> pd.DataFrame:
    """Top-k per user: DataFrame ``user_id,rank,item_id,score`` (score = predicted probability that the user's next
    interaction is this item, over the allowed catalog).

    ``user_ids`` default: every user seen in training. Users the model has never seen get recent popularity.
    ``exclude``: item ids never to recommend, either one iterable for everyone or a dict user_id -> iterable.
    ``available_items``: only these items (in the catalog and in stock) may be recommended; items not in the item
    table given at fit time are never recommended.
    With ``config.repeat`` False, items a user already purchased are not recommended to them.
    """
    if k <= 0:
        raise RecommenderInputError(f"k must be a positive integer, got {k}")
    allowed = _allowed_mask(art, available_items)
    if user_ids is None:
        user_ids = art.user_ids[1:]
    user_ids = [str(u) for u in user_ids]
    rows = []
    for b0 in range(0, len(user_ids), batch_size):
        batch = user_ids[b0: b0 + batch_size]
        uidx = np.array([art.user_index.get(u, 0) for u in batch], np.int64)
        known = uidx > 0
        scores = np.tile(np.log(art.popularity + 1e-12), (len(batch), 1)).astype(np.float32)
        if known.any():
            if art.hybrid is not None:
                scores[known] = art.hybrid.score_users(uidx[known], allowed)
            else:
                scores[known] = art.model.score_users(uidx[known])
        scores[:, ~allowed] = -np.inf
        for r, (u, ui) in enumerate(zip(batch, uidx)):
            ex = [art.item_index[x] for x in map(str, _exclusions(exclude, u)) if x in art.item_index]
            if ex:
                scores[r, ex] = -np.inf
            if not art.config.repeat and ui > 0:
                scores[r, art.purchased(ui)] = -np.inf
        idx, prob = _topk(scores, allowed, k)
        for r, u in enumerate(batch):
            for rank, (j, p) in enumerate(zip(idx[r], prob[r]), 1):
                if not np.isfinite(scores[r, j]):
                    break
                rows.append((u, rank, art.item_ids[j], float(p)))
    return pd.DataFrame(rows, columns=["user_id", "rank", "item_id", "score"])


def recommend_for_history(art: Artifact, item_ids_seen: Iterable, k: int = 10, exclude=None,
                          available_items: Iterable | None = None, exclude_seen: bool = False,
                          context_category: str | None = None, event: str = "view") -> pd.DataFrame:
    """Live top-k for an anonymous session or a new user from the items they just saw (most recent last).

    Returns ``rank,item_id,score``. Unknown item ids are ignored; with no known item at all, the answer is the
    recently popular items (within ``context_category`` when given: "popular in context"). ``event`` is the
    kind of event the seen items were (view, cart or purchase).
    """
    if k <= 0:
        raise RecommenderInputError(f"k must be a positive integer, got {k}")
    seen = [art.item_index[x] for x in map(str, item_ids_seen) if x in art.item_index]
    allowed = _allowed_mask(art, available_items)
    if seen:
        scorer = art.hybrid if art.hybrid is not None else art.model
        scores = scorer.score_sessions([seen], event).astype(np.float32)
    else:
        scores = np.log(art.popularity + 1e-12)[None, :].astype(np.float32)
        if context_category is not None and context_category in art.content.categories:
            c = art.content.categories.index(context_category)
            in_cat = art.content.category == c
            if (in_cat & allowed).any():
                scores[0, ~in_cat] -= 1e6
    scores[:, ~allowed] = -np.inf
    ex = [art.item_index[x] for x in map(str, exclude or ()) if x in art.item_index]
    if exclude_seen:
        ex += seen
    if ex:
        scores[0, ex] = -np.inf
    idx, prob = _topk(scores, allowed, k)
    rows = [(rank, art.item_ids[j], float(p)) for rank, (j, p) in enumerate(zip(idx[0], prob[0]), 1)
            if np.isfinite(scores[0, j])]
    return pd.DataFrame(rows, columns=["rank", "item_id", "score"])


def similar(art: Artifact, item_ids: Iterable | None = None, k: int = 10,
            available_items: Iterable | None = None) -> pd.DataFrame:
    """"Customers also bought": ``item_id,rank,similar_item_id,score``. Default: every catalog item.

    With the hybrid model, items bought by the same customers come first, by the cosine of their co-purchase
    columns (``score`` = 1 + that cosine, in (1, 2]); the rest of the list (and the whole list of an item nobody
    bought yet) follows by the cosine of the DNN item vectors (``score`` in [-1, 1]), which for new items comes
    from their content alone (category, price band, words, photo). The DNN alone: the cosine of its vectors."""
    if k <= 0:
        raise RecommenderInputError(f"k must be a positive integer, got {k}")
    allowed = _allowed_mask(art, available_items)
    vec = art.model.item_embeddings()
    vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-9)
    co = art.hybrid.co_purchase() if art.hybrid is not None else None
    if item_ids is None:
        item_ids = [x for j, x in enumerate(art.item_ids) if art.catalog[j]]
    rows = []
    for iid in map(str, item_ids):
        j = art.item_index.get(iid)
        if j is None or j == 0:
            continue
        s = vec @ vec[j]
        if co is not None:
            a, b = co.indptr[j], co.indptr[j + 1]
            s[co.indices[a:b]] = 1.0 + co.data[a:b]
        s[~allowed] = -np.inf
        s[j] = -np.inf
        kk = min(k, int(np.isfinite(s).sum()))
        top = np.argpartition(-s, kk - 1)[:kk] if kk else np.zeros(0, np.int64)
        top = top[np.argsort(-s[top], kind="stable")]
        rows += [(iid, r, art.item_ids[t], float(s[t])) for r, t in enumerate(top, 1)]
    return pd.DataFrame(rows, columns=["item_id", "rank", "similar_item_id", "score"])


def predict(art: Artifact, user_ids: Iterable | None = None, k: int = 10, **kw) -> pd.DataFrame:
    """The engines' common name for serving: ``recommend(art, user_ids, k, ...)``."""
    return recommend(art, user_ids, k, **kw)


def device_in_use() -> str:
    return str(pick_device("auto"))
