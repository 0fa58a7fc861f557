"""Configuration of the recommender: the served model (``model``), its DNN, TIFU-KNN and re-ranker (every field
has a default that works on a small shop)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mlcore.config import EngineConfig

from .errors import RecommenderInputError


MODELS = ("hybrid", "dnn")


@dataclass
class Config(EngineConfig):
    error: ClassVar[type[Exception]] = RecommenderInputError

    dim: int = 64  # width of user / item vectors
    hidden: int = 128  # hidden width of both towers
    epochs: int = 3  # validation picked 1-2 (Online Retail) and 3 (demo shop) at lr 3e-3
    batch_size: int = 1024
    lr: float = 3e-3
    weight_decay: float = 1e-6
    dropout: float = 0.1
    n_negatives: int = 1024  # shared sampled negatives per batch; the full catalog when it is smaller
    event_weights: dict = field(default_factory=lambda: {"view": 0.2, "cart": 0.5, "purchase": 1.0})
    half_life_days: float = 90.0  # recency: an example's weight halves every half_life_days before the cutoff
    history_len: int = 100  # the user's N heaviest items (event weight x recency) feed the user tower
    history_half_life_days: float = 365.0  # recency half-life of history events (365 won on validation)
    user_dropout: float = 0.2  # training drops the user id this often, so history-only users (sessions) work
    item_dropout: float = 0.1  # and the item id this often, so new items work from content alone
    repeat: bool = True  # may items the user already purchased be recommended again?
    popular_days: float = 30.0  # window of "recent popularity" for users without any history
    max_vocab: int = 5000
    max_tokens: int = 16
    n_price_bands: int = 10
    seed: int = 0
    device: str = "auto"  # "auto" (CUDA when present), "cpu", "cuda"
    threads: int = 0  # torch CPU threads; 0 leaves torch's default
    # the model served: "hybrid" (TIFU-KNN, the DNN and item-kNN re-ranked by LightGBM; hybrid.py) or "dnn" alone
    model: str = "hybrid"
    tifu: dict = field(default_factory=dict)  # TIFU-KNN settings (tifu.TifuParams); empty: its defaults
    ranker: dict = field(default_factory=dict)  # re-ranker settings (hybrid.RankerParams); empty: its defaults

    def validate(self) -> None:
        from .hybrid import RankerParams
        from .tifu import TifuParams

        for name in ("dim", "hidden", "epochs", "batch_size", "n_negatives", "history_len", "max_tokens"):
            if getattr(self, name) < 1:
                raise self.error(f"config: option {name!r} must be at least 1, got {getattr(self, name)}")
        self.choice("model", MODELS)
        for name, params in (("tifu", TifuParams), ("ranker", RankerParams)):
            try:
                params.from_dict(getattr(self, name))
            except self.error as exc:
                raise self.error(f"config: option {name!r}: {exc}") from None
