"""Multimodal sales forecasting engine (pure Python + PyTorch, no Django).

Public entry points:

* :mod:`forecasting.engine.api` -- ``fit``, ``predict``, ``save_artifact``/``load_artifact``, ``backtest``
* :mod:`forecasting.engine.images` -- ``ImageFeatureExtractor`` with a content-hash disk cache
* :mod:`forecasting.engine.adapters` -- UCI Online Retail and M5 subset into the documented format
* ``python -m forecasting.engine {forecast,fit,predict,backtest}`` -- the CLI

See ``forecasting/engine/README.md`` for the data format, the model equations and design decisions.
"""
from .errors import ArtifactError, ForecastInputError

__all__ = ["ForecastInputError", "ArtifactError"]
