"""Image features: region grid, content-hash cache, broken images never crash."""
import logging

import numpy as np
from PIL import Image

from forecasting.engine.images import ImageFeatureExtractor


def test_region_grid_49_at_224(tmp_path):
    p = tmp_path / "a.png"
    Image.new("RGB", (60, 40), (200, 10, 10)).save(p)
    ext = ImageFeatureExtractor("resnet18", cache_dir=None, image_size=224)
    grids, ok = ext.region_features([str(p)])
    assert grids.shape == (1, 49, 512) and ok.all()
    assert ext.pooled_features([str(p)]).shape == (1, 512)


def test_cache_keyed_by_content(tmp_path, caplog):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (40, 40), (200, 10, 10)).save(a)
    Image.new("RGB", (40, 40), (10, 10, 200)).save(b)
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING):
        ext = ImageFeatureExtractor("resnet18", cache_dir=cache, image_size=64)
        f1 = ext.pooled_features([str(a), str(b)])
    assert "RANDOM weights" in caplog.text
    assert len(list(cache.rglob("*.npy"))) == 2
    # a fresh extractor reads the cache without building the network
    ext2 = ImageFeatureExtractor("resnet18", cache_dir=cache, image_size=64)
    f2 = ext2.pooled_features([str(a), str(b)])
    assert ext2._model is None and np.array_equal(f1, f2)
    # changing the image's bytes changes the key -> recomputed
    Image.new("RGB", (40, 40), (10, 200, 10)).save(a)
    f3 = ext2.pooled_features([str(a)])
    assert ext2._model is not None and not np.allclose(f3[0], f1[0])
    assert len(list(cache.rglob("*.npy"))) == 3


def test_broken_and_missing_images_warn(tmp_path, caplog):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00garbage")
    good = tmp_path / "g.png"
    Image.new("RGB", (40, 40), (1, 2, 3)).save(good)
    ext = ImageFeatureExtractor("resnet18", image_size=32)
    with caplog.at_level(logging.WARNING):
        grids, ok = ext.region_features([str(bad), str(tmp_path / "none.png"), "", str(good)])
    assert ok.tolist() == [False, False, False, True]
    assert np.all(grids[:3] == 0)
    assert "bad.jpg" in caplog.text and "none.png" in caplog.text
