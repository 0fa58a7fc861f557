"""The seam between the shop and the forecasting engine: ``shop.analytics`` frames -> the engine's frames.

    sales = inputs.sales(start, end)                 # date,item_id,units,price,views,add_to_carts,promo,stockout
    items = inputs.items()                           # item_id,name,description,category,image_path
    config = {**inputs.image_options(), ...}         # backbone, weights file and feature cache from settings

This module and ``services.py`` are the only places on the Django side that know the engine's format. Photos are
read through ``default_storage`` (``shop.analytics.photo_files``), so the same code works with media on S3.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from django.conf import settings

from mlcore.images import choose_arch
from shop import analytics

SALES_COLUMNS = ["date", "item_id", "units", "price", "views", "add_to_carts", "promo", "stockout"]
ITEM_COLUMNS = ["item_id", "name", "description", "category", "image_path"]


def photo_dir() -> Path:
    return Path(settings.ML_CACHE_DIR) / "photos"


def image_options() -> dict:
    """The engine options that name machine paths: backbone, its weights file, the feature cache folder."""
    return {"image_arch": choose_arch(settings.ML_IMAGE_ARCH, settings.ML_IMAGE_WEIGHTS),
            "image_weights": settings.ML_IMAGE_WEIGHTS or None,
            "image_cache_dir": str(Path(settings.ML_CACHE_DIR) / "image-features")}


def sales(start: date, end: date, product_ids=None) -> pd.DataFrame:
    """Daily sales per product from ``start`` to ``end`` (inclusive) in the engine's sales format."""
    df = analytics.daily_product_stats(start, end, product_ids)
    out = df[SALES_COLUMNS].copy()
    out["date"] = pd.to_datetime(out["date"])
    out["item_id"] = out["item_id"].astype(str)
    for col in SALES_COLUMNS[2:]:
        out[col] = out[col].astype(float)
    return out.reset_index(drop=True)


def items(active_only: bool = False, photos: Path | None = None) -> pd.DataFrame:
    """Every product (or the active ones) in the engine's items format; ``image_path`` is a local file holding
    the main photo ("" without one). ``category`` is the category path (``home/mugs``)."""
    cat = analytics.catalog_items(active_only=active_only)
    cat = cat.assign(item_id=cat["item_id"].astype(str), category=cat["category_path"],
                     image_path=analytics.photo_files(cat, photos or photo_dir()))
    return cat[ITEM_COLUMNS].reset_index(drop=True)
