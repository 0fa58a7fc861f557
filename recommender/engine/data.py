"""The documented input formats, their validation and the integer encoding used by every model.

Interactions (CSV or DataFrame)::

    timestamp,user_id,item_id,event[,quantity][,session_id]

* ``timestamp``: anything ``pandas.to_datetime`` reads (ISO 8601 recommended); time-zone aware values are
  converted to UTC and made naive.
* ``user_id``: the shopper; may be empty for anonymous shoppers, in which case ``session_id`` is the user
  (encoded as ``"session:<session_id>"``).
* ``item_id``: the product (any string; ids are compared as strings).
* ``event``: one of ``view``, ``cart``, ``purchase``.
* ``quantity`` (optional, default 1): units; rows with quantity <= 0 are ignored (returns, cancellations).
* ``session_id`` (optional): required for rows whose ``user_id`` is empty.

Items (CSV or DataFrame)::

    item_id,name,description,category,price[,image_path]

Items that appear in interactions but not in the items table are still learned from (with "unknown" content).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import RecommenderInputError

EVENTS = ("view", "cart", "purchase")
INTERACTION_COLUMNS = ("timestamp", "user_id", "item_id", "event")
INTERACTION_OPTIONAL = ("quantity", "session_id")
ITEM_COLUMNS = ("item_id", "name", "description", "category", "price")
ITEM_OPTIONAL = ("image_path",)
SESSION_PREFIX = "session:"


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip().isin(["", "nan", "None", "NaN", "NA"]))


def _as_id(s: pd.Series) -> pd.Series:
    """Ids as clean strings; floats that are whole numbers lose their '.0' (CustomerID 17850.0 -> '17850')."""
    if pd.api.types.is_float_dtype(s):
        out = s.map(lambda v: "" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
        return out.astype(str)
    return s.astype(str).str.strip()


def _read_csv(path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise RecommenderInputError(f"{what} file not found: {path}") from None
    except pd.errors.EmptyDataError:
        raise RecommenderInputError(f"{what} file is empty: {path}") from None


def read_interactions(path) -> pd.DataFrame:
    return _read_csv(path, "interactions")


def read_items(path) -> pd.DataFrame:
    return _read_csv(path, "items")


def _require_columns(df, what: str, required, optional_hint: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise RecommenderInputError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise RecommenderInputError(
            f"{what} are missing required column(s) {', '.join(missing)}; expected "
            f"{','.join(required)}{optional_hint}, got {','.join(map(str, df.columns))}"
        )


def validate_interactions(df: pd.DataFrame, *, allow_empty: bool = False) -> pd.DataFrame:
    """Check and normalise interactions; returns a new frame with typed columns.

    Raises :class:`RecommenderInputError` naming the problem: missing columns, unknown event types, unreadable
    timestamps, rows without a user or session, empty input.
    """
    _require_columns(df, "interactions", INTERACTION_COLUMNS, "[,quantity][,session_id]")
    if len(df) == 0 and not allow_empty:
        raise RecommenderInputError("interactions are empty: no rows to learn from")
    out = pd.DataFrame(index=df.index)
    ts = pd.to_datetime(df["timestamp"], errors="coerce", utc=True, format="mixed")
    bad = ts.isna()
    if bad.any():
        examples = df.loc[bad, "timestamp"].astype(str).head(3).tolist()
        raise RecommenderInputError(f"interactions have {int(bad.sum())} unreadable timestamp(s), e.g. {examples}")
    out["timestamp"] = ts.dt.tz_convert(None)
    event = df["event"].astype(str).str.strip().str.lower()
    unknown = sorted(set(event.unique()) - set(EVENTS))
    if unknown:
        raise RecommenderInputError(
            f"unknown event type(s) {unknown[:5]} in interactions; allowed: {', '.join(EVENTS)}"
        )
    out["event"] = event
    item = _as_id(df["item_id"])
    if _blank(item).any():
        raise RecommenderInputError(f"interactions have {int(_blank(item).sum())} row(s) with an empty item_id")
    out["item_id"] = item
    user = _as_id(df["user_id"])
    blank_user = _blank(df["user_id"])
    if blank_user.any():
        if "session_id" not in df.columns:
            raise RecommenderInputError(
                f"{int(blank_user.sum())} interaction row(s) have an empty user_id and there is no session_id column"
            )
        sess = _as_id(df["session_id"])
        no_sess = blank_user & _blank(df["session_id"])
        if no_sess.any():
            raise RecommenderInputError(
                f"{int(no_sess.sum())} interaction row(s) have neither a user_id nor a session_id"
            )
        user = user.where(~blank_user, SESSION_PREFIX + sess)
    out["user_id"] = user
    if "quantity" in df.columns:
        q = pd.to_numeric(df["quantity"].replace("", np.nan), errors="coerce")
        badq = q.isna() & ~_blank(df["quantity"])
        if badq.any():
            raise RecommenderInputError(
                f"interactions have {int(badq.sum())} non-numeric quantity value(s), "
                f"e.g. {df.loc[badq, 'quantity'].astype(str).head(3).tolist()}"
            )
        q = q.fillna(1.0)
        out["quantity"] = q.astype(float)
        out = out[out["quantity"] > 0]
    else:
        out["quantity"] = 1.0
    if len(out) == 0 and not allow_empty:
        raise RecommenderInputError("interactions are empty after dropping rows with quantity <= 0")
    out = out.sort_values("timestamp", kind="stable").reset_index(drop=True)
    return out[["timestamp", "user_id", "item_id", "event", "quantity"]]


def validate_items(df: pd.DataFrame | None) -> pd.DataFrame:
    """Check and normalise the item table (content features). ``None`` means "no content": an empty table."""
    if df is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ITEM_COLUMNS + ITEM_OPTIONAL})
    _require_columns(df, "items", ITEM_COLUMNS, "[,image_path]")
    out = pd.DataFrame(index=df.index)
    out["item_id"] = _as_id(df["item_id"])
    if _blank(out["item_id"]).any():
        raise RecommenderInputError(f"items have {int(_blank(out['item_id']).sum())} row(s) with an empty item_id")
    for c in ("name", "description", "category"):
        out[c] = df[c].fillna("").astype(str)
    price = pd.to_numeric(df["price"].replace("", np.nan) if df["price"].dtype == object else df["price"],
                          errors="coerce")
    badp = price.isna() & ~_blank(df["price"])
    if badp.any():
        raise RecommenderInputError(
            f"items have {int(badp.sum())} non-numeric price value(s), "
            f"e.g. {df.loc[badp, 'price'].astype(str).head(3).tolist()}"
        )
    out["price"] = price.astype(float)
    out["image_path"] = df["image_path"].fillna("").astype(str) if "image_path" in df.columns else ""
    out = out.drop_duplicates("item_id", keep="last").reset_index(drop=True)
    return out


def cut(interactions: pd.DataFrame, until) -> pd.DataFrame:
    """Events strictly before :func:`parse_cutoff` ``(until)``: a day (``YYYY-MM-DD`` or a ``datetime.date``) is
    training data as a whole; a timestamp with a time of day cuts at that instant."""
    return interactions[interactions["timestamp"] < parse_cutoff(until)]


def parse_cutoff(until) -> pd.Timestamp:
    """The first instant after the training data: the start of the next day for a day, else the timestamp."""
    if isinstance(until, _dt.date) and not isinstance(until, _dt.datetime):
        return pd.Timestamp(until) + pd.Timedelta(days=1)
    t = pd.Timestamp(until)
    if isinstance(until, str) and len(until.strip()) == 10:
        t = t + pd.Timedelta(days=1)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t


@dataclass
class Encoded:
    """Integer-encoded training data shared by every model.

    Item index 0 is reserved for "unknown/padding"; real items are 1..n_items-1. Users likewise (0 = unknown).
    """

    item_ids: list  # index -> item_id (index 0 = "<unk>")
    user_ids: list
    u: np.ndarray  # per event
    i: np.ndarray
    t: np.ndarray  # seconds since epoch (float)
    e: np.ndarray  # 0 view, 1 cart, 2 purchase
    q: np.ndarray
    t_end: float
    item_index: dict = field(default_factory=dict)
    user_index: dict = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)


def encode(interactions: pd.DataFrame, items: pd.DataFrame | None = None) -> Encoded:
    """Encode validated interactions. Every catalog item gets an index, even without interactions (new items)."""
    item_ids = ["<unk>"]
    seen = set()
    for iid in list(items["item_id"]) if items is not None else []:
        if iid not in seen:
            seen.add(iid)
            item_ids.append(iid)
    for iid in pd.unique(interactions["item_id"]):
        if iid not in seen:
            seen.add(iid)
            item_ids.append(iid)
    item_index = {iid: k for k, iid in enumerate(item_ids)}
    user_ids = ["<unk>"] + list(pd.unique(interactions["user_id"]))
    user_index = {uid: k for k, uid in enumerate(user_ids)}
    ev = {"view": 0, "cart": 1, "purchase": 2}
    ts = interactions["timestamp"].astype("int64").to_numpy() / 1e9 if len(interactions) else np.zeros(0)
    return Encoded(
        item_ids=item_ids,
        user_ids=user_ids,
        u=interactions["user_id"].map(user_index).to_numpy(np.int64),
        i=interactions["item_id"].map(item_index).to_numpy(np.int64),
        t=ts.astype(np.float64),
        e=interactions["event"].map(ev).to_numpy(np.int64),
        q=interactions["quantity"].to_numpy(np.float64),
        t_end=float(ts.max()) if len(ts) else 0.0,
        item_index=item_index,
        user_index=user_index,
    )
