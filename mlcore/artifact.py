"""Artifacts to and from bytes: a ``torch.save`` of plain tensors, numbers, strings, lists and dicts (numpy arrays
are carried as tensors), read back with ``weights_only=True`` so loading never runs pickled code.

Every artifact carries a magic marker (which engine wrote it) and a format version (what layout it has). A reader
names the versions it understands; anything else raises the engine's own error class with a message that says why.
"""
from __future__ import annotations

import io
from typing import Iterable

_ND = "__ndarray__"


def _encode(obj):
    import numpy as np
    import torch

    if isinstance(obj, np.ndarray):
        return {_ND: torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    return obj


def _decode(obj):
    if isinstance(obj, dict):
        if set(obj) == {_ND}:
            return obj[_ND].numpy()
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def to_bytes(state: dict, *, magic: str, version: int) -> bytes:
    """Serialise ``state`` (a dict of plain values, tensors and numpy arrays) under ``magic`` and ``version``."""
    import torch

    buf = io.BytesIO()
    torch.save(_encode({**state, "magic": magic, "version": int(version)}), buf)
    return buf.getvalue()


def from_bytes(blob: bytes, *, magic: str, versions: Iterable[int], error: type[Exception],
               what: str = "model artifact", unmarked_versions: Iterable[int] = ()) -> tuple[int, dict]:
    """Return ``(version, state)``; raise ``error`` for bytes that are not such an artifact or a version this code
    cannot read. ``unmarked_versions``: older formats written before the magic marker existed."""
    import torch

    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise error(f"{what}: expected bytes, got {type(blob).__name__}")
    try:
        state = torch.load(io.BytesIO(bytes(blob)), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not an artifact"
        raise error(f"not a {what} ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(state, dict):
        raise error(f"not a {what} (no state dictionary inside)")
    version = state.get("version")
    marked = state.get("magic") == magic
    if not marked and not (state.get("magic") is None and version in set(unmarked_versions)):
        raise error(f"not a {what} (magic marker {magic!r} missing)")
    known = sorted(set(versions) | set(unmarked_versions))
    if version not in known:
        raise error(f"{what} format version {version} is not supported by this code (it reads {known}); "
                    f"retrain the model or upgrade the code")
    return int(version), _decode(state)
