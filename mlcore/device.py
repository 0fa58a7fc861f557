"""Where torch runs: ``"auto"`` (or None) is CUDA when present, else the CPU."""
from __future__ import annotations


def pick_device(name: str | None = "auto"):
    import torch

    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
