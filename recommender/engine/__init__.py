"""Recommender engine: a hybrid of TIFU-KNN, a deep two-tower network over user / item embeddings and item content
and item-kNN, re-ranked by LightGBM, trained on logged views, add-to-carts and purchases. Pure Python + torch; no
Django. See README.md in this folder."""
from .config import Config
from .errors import ArtifactError, RecommenderError, RecommenderInputError

__all__ = ["Config", "RecommenderError", "RecommenderInputError", "ArtifactError"]
