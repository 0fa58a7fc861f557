"""The seam between the shop and the recommender engine: ``shop.analytics`` frames -> the engine's frames.

    inter = inputs.interactions(start, end)      # timestamp,user_id,item_id,event,quantity,session_id
    items = inputs.items()                       # item_id,name,description,category,price,image_path (the catalog)
    feats = inputs.image_features(items)         # item_id -> pooled photo vector (for fit(image_features=...))
    avail = inputs.available_items()             # ids that may be shown now (active and in stock)

This module and ``services.py`` are the only places on the Django side that know the engine's format. Photos are
read through ``default_storage`` (``shop.analytics.photo_files``), so the same code works with media on S3.
"""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pandas as pd
from django.conf import settings

from mlcore.images import choose_arch
from shop import analytics

log = logging.getLogger(__name__)

INTERACTION_COLUMNS = ["timestamp", "user_id", "item_id", "event", "quantity", "session_id"]
ITEM_COLUMNS = ["item_id", "name", "description", "category", "price", "image_path"]


def photo_dir() -> Path:
    return Path(settings.ML_CACHE_DIR) / "photos"


def interactions(start: date, end: date) -> pd.DataFrame:
    """Views, add-to-carts and purchases from ``start`` to ``end`` (inclusive), oldest first. Signed-in shoppers
    are their user id; guests their session. Rows with neither (guest orders imported without a customer) cannot
    belong to a shopper's history and are left out (counted in the log)."""
    df = analytics.interactions(start, end)
    user = df["user_id"].astype("string").fillna("")
    session = df["session_id"].astype("string").fillna("").str.strip()
    keep = (user != "") | (session != "")
    if (~keep).any():
        log.info("recommender inputs: %d interaction(s) without a user or session left out", int((~keep).sum()))
    out = pd.DataFrame({
        "timestamp": df["timestamp"], "user_id": user, "item_id": df["item_id"].astype(str),
        "event": df["event"].astype(str), "quantity": df["quantity"].fillna(1).astype(float), "session_id": session,
    }, columns=INTERACTION_COLUMNS)
    return out[keep.to_numpy()].reset_index(drop=True)


def items(active_only: bool = True, photos: Path | None = None) -> pd.DataFrame:
    """The catalog the recommender may recommend from (default: active products) in the engine's items format;
    ``image_path`` is a local file holding the main photo ("" without one)."""
    cat = analytics.catalog_items(active_only=active_only)
    cat = cat.assign(item_id=cat["item_id"].astype(str), category=cat["category_path"],
                     image_path=analytics.photo_files(cat, photos or photo_dir()))
    return cat[ITEM_COLUMNS].astype({"price": float}).reset_index(drop=True)


def image_features(items_frame: pd.DataFrame) -> dict:
    """item_id -> pooled photo vector for items whose photo loads (the backbone and cache from settings)."""
    from recommender.engine.images import image_features_for

    return image_features_for(items_frame, arch=choose_arch(settings.ML_IMAGE_ARCH, settings.ML_IMAGE_WEIGHTS),
                              cache_dir=str(Path(settings.ML_CACHE_DIR) / "image-features"),
                              weights_path=settings.ML_IMAGE_WEIGHTS or None)


def available_items() -> list[str]:
    """Ids of the products that may be recommended right now: active and in stock."""
    cat = analytics.catalog_items(active_only=True)
    return cat.loc[cat["stock"] > 0, "item_id"].astype(str).tolist()
