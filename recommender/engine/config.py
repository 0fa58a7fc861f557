"""Configuration of the DNN recommender (every field has a default that works on a small shop)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class Config:
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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Config":
        if d is None:
            return cls()
        if isinstance(d, Config):
            return d
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            from .errors import RecommenderInputError

            raise RecommenderInputError(f"unknown config option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)
