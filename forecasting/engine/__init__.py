"""Multimodal sales forecasting engine (pure Python + PyTorch, no Django, no environment variables).

Public entry points:

* :mod:`forecasting.engine.api` -- ``fit``, ``predict``, ``forecast``, ``Artifact`` (``to_bytes``/``from_bytes``)
* :mod:`forecasting.engine.config` -- ``Config``: every option with its default
* :mod:`forecasting.engine.backtest` -- rolling-origin backtests against the baselines
* :mod:`forecasting.engine.adapters` -- UCI Online Retail and M5 subset into the documented format
* ``python -m forecasting.engine {forecast,fit,predict,backtest}`` -- the CLI
* image features: :mod:`mlcore.images` (shared with the recommender)

See ``forecasting/engine/README.md`` for the data format, the model equations and design decisions.
Importing this package does not import torch.
"""
from .config import Config
from .errors import ArtifactError, ForecastError, ForecastInputError

__all__ = ["Config", "ForecastError", "ForecastInputError", "ArtifactError"]
