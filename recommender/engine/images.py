"""Item image vectors for the recommender, from the image branch both engines share (:mod:`mlcore.images`).

The photos are embedded once by `mlcore.images.ImageFeatureExtractor` (frozen CNN, on-disk cache keyed by the
image bytes' hash, shared with the forecaster when both point at the same cache folder); the recommender uses the
globally pooled vector of each photo as one more item content feature.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def image_features_for(items: pd.DataFrame, arch: str = "auto", cache_dir: str | None = None,
                       weights_path: str | None = None, image_size: int = 224) -> dict[str, np.ndarray]:
    """item_id -> pooled image vector for the items whose `image_path` loads; items without one are left out."""
    if items is None or "image_path" not in items.columns:
        return {}
    from mlcore.images import ImageFeatureExtractor

    rows = items[items["image_path"].fillna("").astype(str).str.len() > 0]
    if rows.empty:
        return {}
    ext = ImageFeatureExtractor(arch=arch, weights_path=weights_path, cache_dir=cache_dir, image_size=image_size)
    grids, ok = ext.region_features(rows["image_path"].astype(str).tolist())
    pooled = grids.mean(axis=1)
    return {str(iid): pooled[k] for k, iid in enumerate(rows["item_id"].astype(str)) if ok[k]}
