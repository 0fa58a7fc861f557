"""Configuration of the forecaster: every option, its default and what it does.

    cfg = Config.from_dict({"epochs": 30}, seed=1)     # unknown options and wrong types raise ForecastInputError
    cfg.to_dict()                                       # stored in the artifact
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mlcore.config import EngineConfig
from mlcore.images import ARCH_CHANNELS

from .errors import ForecastInputError

TEMPORAL = ("bilstm", "lstm", "gru", "transformer")
FUSION = ("attention", "concat")
IMAGE_ARCHS = ("auto",) + tuple(ARCH_CHANNELS)


@dataclass
class Config(EngineConfig):
    error: ClassVar[type[Exception]] = ForecastInputError

    # -- problem
    horizon: int = 45  # days forecast after the origin, all at once (direct, not recursive)
    window: int = 120  # days of history the temporal model reads
    extra_holidays: list = field(default_factory=list)  # YYYY-MM-DD holidays on top of the built-in calendar
    # -- image branch
    use_image: bool = True  # product photos (image_path) feed the model
    image_arch: str = "auto"  # auto | efficientnet_lite0 | resnet18 | resnet50 | resnet101 (frozen backbone);
    #   auto = resnet101 (the paper's) when image_weights is set, else the pretrained EfficientNet-Lite0
    image_weights: str | None = None  # local ImageNet state_dict file; a ResNet without one has random weights
    image_size: int = 224  # pixels; 224 px gives a 7x7 grid = 49 regions
    image_cache_dir: str | None = None  # feature cache folder (keyed by image bytes); None = no cache
    image_batch_size: int = 16  # images per backbone batch
    # -- text branch
    use_text: bool = True  # name + description words feed the model
    max_tokens: int = 32  # words read per product
    min_word_count: int = 1  # words rarer than this in the catalog are "unknown"
    max_vocab: int = 20000  # vocabulary size cap
    word_dim: int = 32  # word embedding width
    # -- fusion
    fusion: str = "attention"  # attention (bidirectional text-image) | concat (ablation)
    fusion_width: int = 32  # width both modalities are projected to
    fused_dim: int = 32  # width of the fused product vector
    category_dim: int = 8  # category embedding width
    # -- temporal model
    temporal: str = "bilstm"  # bilstm | lstm | gru | transformer
    hidden: int = 30  # LSTM/GRU cells (per direction)
    transformer_dim: int = 32  # transformer width (temporal="transformer")
    transformer_heads: int = 4
    transformer_layers: int = 2
    head_hidden: int = 64  # hidden width of the 45-day output head
    dropout: float = 0.2
    # -- training
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 32  # windows per batch on CPU
    gpu_batch_size: int = 256  # windows per batch on CUDA
    epochs: int = 100  # at most this many epochs
    patience: int = 10  # stop after this many epochs without a better validation loss
    split: list = field(default_factory=lambda: [0.7, 0.2, 0.1])  # train/validation/test share of origins, in time order
    stride: int = 3  # training origins every `stride` days per item (random offset per epoch)
    val_stride: int = 3  # validation/test origins every `val_stride` days
    min_history: int = 28  # earliest origin for items present at the start of the data
    coldstart_prob: float = 0.15  # share of training windows whose history is hidden (teaches cold start)
    mse_weight: float = 1.0  # loss = mse_weight * MSE(p50) + pinball_weight * pinball(p10, p50, p90)
    pinball_weight: float = 1.0
    max_epoch_windows: int | None = None  # cap on training windows per epoch (None = all)
    # -- machine
    seed: int = 0  # fixes weights init, sampling and the random-weight backbone
    device: str | None = "auto"  # auto (CUDA when present) | cpu | cuda
    amp: bool = True  # mixed precision on CUDA
    num_threads: int | None = None  # torch CPU threads; None leaves torch's default
    progress_bar: bool | None = None  # tqdm bar; None = only when stderr is a terminal

    def validate(self) -> None:
        self.choice("temporal", TEMPORAL)
        self.choice("fusion", FUSION)
        self.choice("image_arch", IMAGE_ARCHS)
        for name in ("horizon", "window", "epochs", "batch_size", "gpu_batch_size", "stride", "val_stride",
                     "image_size", "image_batch_size", "max_tokens", "max_vocab"):
            if getattr(self, name) < 1:
                raise self.error(f"config: option {name!r} must be at least 1, got {getattr(self, name)}")
        if len(self.split) != 3 or min(self.split) < 0 or self.split[0] <= 0:
            raise self.error(f"config: option 'split' must be three shares [train, validation, test] with a "
                             f"positive train share, got {self.split}")


def make_config(config=None, **overrides) -> Config:
    """``Config.from_dict(config, **overrides)`` (the older name)."""
    return Config.from_dict(config, **overrides)
