"""The training progress convention shared by both engines.

``progress(epoch, metrics)`` is called after every epoch: ``epoch`` counts from 1, ``metrics`` is a dict with at
least ``epochs`` (the planned number), ``train_loss`` and ``seconds`` (that epoch's wall time), plus what the engine
knows (``val_loss``, ``best_val_loss``, ...). A callback that raises stops the training (a cancelled run).
"""
from __future__ import annotations

import inspect
import json
import sys
import warnings
from typing import Callable

ProgressFn = Callable[[int, dict], None]


def _positional_arity(fn) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in params)


def as_progress(fn) -> ProgressFn | None:
    """Accept ``progress(epoch, metrics)``; a one-argument callback (the forecaster's older ``progress(record)``
    with the epoch inside the record) still works, with a DeprecationWarning."""
    if fn is None:
        return None
    if _positional_arity(fn) == 1:
        warnings.warn("progress(record) with one argument is deprecated; use progress(epoch, metrics)",
                      DeprecationWarning, stacklevel=3)
        return lambda epoch, metrics: fn({"epoch": epoch, **metrics})
    return fn


def json_lines(stream=None) -> ProgressFn:
    """A callback printing one JSON object per epoch (``{"epoch": 3, "train_loss": ...}``), for the CLIs."""
    def emit(epoch: int, metrics: dict) -> None:
        print(json.dumps({"epoch": epoch, **metrics}, default=float), file=stream or sys.stderr, flush=True)

    return emit


class Bar:
    """A tqdm bar over epochs, shown only when ``enabled`` (``None``: when stderr is a terminal)."""

    def __init__(self, total: int, desc: str, enabled: bool | None = None):
        self._bar = None
        if enabled if enabled is not None else sys.stderr.isatty():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr)

    def update(self, **postfix) -> None:
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4f}" if isinstance(v, float) else v for k, v in postfix.items()})
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
