"""Moved to :mod:`mlcore.images` (shared by both engines); this name keeps older imports working."""
from mlcore.images import ARCH_CHANNELS, ImageFeatureExtractor, file_sha256  # noqa: F401
