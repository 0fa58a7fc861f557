"""Frozen torchvision ResNet image features with an on-disk cache keyed by image content hash.

Reusable by the recommender::

    ext = ImageFeatureExtractor(arch="resnet101", weights_path=None, cache_dir="var/imgcache")
    pooled = ext.pooled_features(paths)          # (n, C) float32, global average of the last conv map
    grids, ok = ext.region_features(paths)       # (n, R, C) float32, R = (image_size/32)^2 = 49 at 224 px

* Weights: ``weights_path`` or the env var ``FORECAST_RESNET_WEIGHTS`` (a local torchvision ``state_dict``
  file, e.g. ImageNet ``resnet101-*.pth``). Nothing is ever downloaded. Without weights the backbone is built
  with a fixed seed (random but reproducible weights) and a warning is logged.
* Cache: one ``.npy`` per (image bytes sha256, arch, weights identity, image size). An image whose bytes change
  gets a new key, so features are recomputed; unchanged images are never recomputed.
* An image that cannot be read gives ``ok=False`` (the forecaster then uses its learned "no image" embedding)
  and a logged warning; it never raises.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ARCH_CHANNELS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "resnet101": 2048, "resnet152": 2048}
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def file_sha256(path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


class ImageFeatureExtractor:
    def __init__(self, arch: str = "resnet101", weights_path: str | None = None, cache_dir: str | None = None,
                 image_size: int = 224, batch_size: int = 16, device: str | None = None, seed: int = 0):
        if arch not in ARCH_CHANNELS:
            raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(ARCH_CHANNELS)}")
        self.arch = arch
        self.weights_path = weights_path or os.environ.get("FORECAST_RESNET_WEIGHTS") or None
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        self.device = device
        self.seed = seed
        self.channels = ARCH_CHANNELS[arch]
        self.grid = max(1, -(-self.image_size // 32))
        self._model = None
        self._weights_id = None
        self.pretrained = bool(self.weights_path)

    # ------------------------------------------------------------------ model
    @property
    def weights_id(self) -> str:
        if self._weights_id is None:
            if self.weights_path:
                self._weights_id = "w" + (file_sha256(self.weights_path) or "missing")[:16]
            else:
                self._weights_id = f"random-seed{self.seed}"
        return self._weights_id

    def _load(self):
        if self._model is not None:
            return self._model
        import torch
        import torchvision

        dev = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        # build with a fixed seed so "random weights" are the same in every process (cache stays valid)
        state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)
        net = getattr(torchvision.models, self.arch)(weights=None)
        torch.random.set_rng_state(state)
        if self.weights_path:
            sd = torch.load(self.weights_path, map_location="cpu", weights_only=True)
            if isinstance(sd, dict) and "state_dict" in sd:
                sd = sd["state_dict"]
            net.load_state_dict(sd)
            log.info("image backbone %s: loaded weights from %s", self.arch, self.weights_path)
        else:
            log.warning("image backbone %s runs with RANDOM weights (no weights file; set "
                        "FORECAST_RESNET_WEIGHTS or config image_weights to a local ImageNet state_dict)", self.arch)
        body = torch.nn.Sequential(*list(net.children())[:-2]).eval().to(dev)
        for p in body.parameters():
            p.requires_grad_(False)
        self._device = dev
        self._model = body
        return body

    # ------------------------------------------------------------------ io
    def _read(self, path):
        from PIL import Image

        try:
            with Image.open(path) as im:
                im = im.convert("RGB").resize((self.image_size, self.image_size), Image.BILINEAR)
                a = np.asarray(im, dtype=np.float32) / 255.0
            return ((a - _MEAN) / _STD).transpose(2, 0, 1)
        except Exception as exc:  # noqa: BLE001 - any unreadable image is a warning, never a crash
            log.warning("image %s could not be loaded (%s); using the 'no image' embedding", path, exc)
            return None

    def _cache_path(self, digest):
        key = f"{digest}-{self.arch}-{self.weights_id}-{self.image_size}"
        return self.cache_dir / key[:2] / f"{key}.npy"

    # ------------------------------------------------------------------ public
    def region_features(self, paths, progress=None):
        """Return ``(grids, ok)``: grids (n, R, C) float32 (zeros where ok is False), ok (n,) bool."""
        import torch

        n = len(paths)
        R = self.grid * self.grid
        out = np.zeros((n, R, self.channels), dtype=np.float32)
        ok = np.zeros(n, dtype=bool)
        todo = []
        for k, p in enumerate(paths):
            if not p or not isinstance(p, (str, os.PathLike)) or not str(p).strip():
                continue
            digest = file_sha256(p)
            if digest is None:
                log.warning("image %s could not be read; using the 'no image' embedding", p)
                continue
            if self.cache_dir is not None:
                cp = self._cache_path(digest)
                if cp.exists():
                    try:
                        out[k] = np.load(cp)
                        ok[k] = True
                        continue
                    except Exception:  # noqa: BLE001 - a corrupt cache entry is recomputed
                        pass
            todo.append((k, p, digest))
        if todo:
            model = self._load()
            for b in range(0, len(todo), self.batch_size):
                chunk = todo[b:b + self.batch_size]
                arrs, keep = [], []
                for k, p, d in chunk:
                    a = self._read(p)
                    if a is not None:
                        arrs.append(a)
                        keep.append((k, d))
                if not arrs:
                    continue
                with torch.inference_mode():
                    x = torch.from_numpy(np.stack(arrs)).to(self._device)
                    fm = model(x).float()                        # (b, C, g, g)
                    fm = fm.flatten(2).transpose(1, 2).cpu().numpy()  # (b, R, C)
                for (k, d), f in zip(keep, fm):
                    out[k] = f
                    ok[k] = True
                    if self.cache_dir is not None:
                        cp = self._cache_path(d)
                        cp.parent.mkdir(parents=True, exist_ok=True)
                        tmp = cp.with_suffix(f".tmp{os.getpid()}.npy")
                        np.save(tmp, f.astype(np.float32))
                        os.replace(tmp, cp)
                if progress is not None:
                    progress(min(b + self.batch_size, len(todo)), len(todo))
        return out, ok

    def pooled_features(self, paths) -> np.ndarray:
        """(n, C) global-average-pooled features (zeros for images that failed to load)."""
        grids, _ = self.region_features(paths)
        return grids.mean(axis=1)
