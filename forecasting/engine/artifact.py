"""The trained forecaster as an object, and as bytes.

Format version 2 (this code): a ``torch.save`` of plain values under the magic marker ``forecasting.engine.artifact``
(see :mod:`mlcore.artifact`). Version 1 (before the marker) is still read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mlcore import artifact as _bytes

from . import data as D
from .config import Config
from .errors import ArtifactError

ARTIFACT_VERSION = 2
MAGIC = "forecasting.engine.artifact"
_FIELDS = ("state_dict", "vocab", "categories", "scalers", "category_scale", "global_scale", "image_channels",
           "n_regions", "train_until", "image_norm", "image_weights_id", "metrics")


@dataclass
class Artifact:
    config: Config
    state_dict: dict
    vocab: dict
    categories: dict
    scalers: dict            # item_id -> [units, views, carts, price_ref]
    category_scale: dict     # category -> median units scale (cold start)
    global_scale: list
    image_channels: int
    n_regions: int
    train_until: str         # YYYY-MM-DD, the last day of data the model saw
    image_norm: float = 1.0
    image_weights_id: str = ""   # which backbone weights made the image features ("" = no images at fit time)
    metrics: dict = field(default_factory=dict)
    _model: object = field(default=None, repr=False, compare=False)

    def model(self):
        """The network in eval mode on the CPU (built once)."""
        if self._model is None:
            import torch

            from .model import ForecastNet

            m = ForecastNet(self.config, len(self.vocab) + 2, len(self.categories) + 1, len(D.DYNAMIC_FEATURES),
                            len(D.CALENDAR_FEATURES), self.image_channels)
            m.load_state_dict({k: torch.as_tensor(v) for k, v in self.state_dict.items()})
            m.eval()
            self._model = m
        return self._model

    def to_bytes(self) -> bytes:
        state = {name: getattr(self, name) for name in _FIELDS}
        return _bytes.to_bytes({"config": self.config.to_dict(), **state}, magic=MAGIC, version=ARTIFACT_VERSION)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "Artifact":
        _, p = _bytes.from_bytes(blob, magic=MAGIC, versions=[ARTIFACT_VERSION], unmarked_versions=[1],
                                 error=ArtifactError, what="forecasting artifact")
        try:
            cfg = Config.from_dict({k: v for k, v in p["config"].items()})
            return cls(config=cfg, **{k: p[k] for k in _FIELDS if k in p})
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"forecasting artifact is incomplete or inconsistent ({exc})") from None


def save_artifact(artifact: Artifact) -> bytes:
    """``artifact.to_bytes()`` (the older name)."""
    return artifact.to_bytes()


def load_artifact(blob: bytes) -> Artifact:
    """``Artifact.from_bytes(blob)`` (the older name)."""
    return Artifact.from_bytes(blob)
