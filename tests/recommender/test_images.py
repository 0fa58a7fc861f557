"""Item photos reach the recommender through the forecasting engine's cached image branch."""
import numpy as np
import pandas as pd
from PIL import Image

from recommender.engine import api
from recommender.engine.cli import main
from recommender.engine.images import image_features_for

from .conftest import TINY

COLOURS = [(200, 30, 30), (30, 30, 200), (30, 160, 60), (240, 200, 40)]


def _with_photos(tmp_path, items):
    paths = []
    for k, iid in enumerate(items["item_id"]):
        p = tmp_path / f"{iid}.png"
        Image.new("RGB", (40, 40), COLOURS[k % 4]).save(p)
        paths.append(str(p))
    paths[3] = str(tmp_path / "missing.png")           # a photo that is gone
    (tmp_path / "broken.png").write_bytes(b"not a png")
    paths[4] = str(tmp_path / "broken.png")              # and one that is not an image
    return items.assign(image_path=paths)


def test_image_vectors_are_cached_and_used(tmp_path, data):
    inter, items = data
    items = _with_photos(tmp_path, items)
    cache = tmp_path / "cache"
    feats = image_features_for(items, arch="resnet18", cache_dir=str(cache), image_size=32)
    assert len(feats) == len(items) - 2 and "sku3" not in feats and "sku4" not in feats
    assert next(iter(feats.values())).shape == (512,)
    assert len(list(cache.rglob("*.npy"))) == len(COLOURS)  # keyed by content: one file per distinct photo
    again = image_features_for(items, arch="resnet18", cache_dir=str(cache), image_size=32)
    assert all(np.array_equal(feats[k], again[k]) for k in feats)  # read back from the cache
    art = api.fit(inter, items, TINY, image_features=feats, verbose=False)
    img = art.content.image
    assert img.shape[1] == 513 and img[:, -1].sum() == len(items) - 2  # last column: "has a photo"
    back = api.Artifact.from_bytes(art.to_bytes())
    pd.testing.assert_frame_equal(api.recommend(art, k=5), api.recommend(back, k=5))


def test_cli_embeds_photos_when_asked(tmp_path, data):
    inter, items = data
    items = _with_photos(tmp_path, items)
    ip, tp = tmp_path / "i.csv", tmp_path / "t.csv"
    inter.to_csv(ip, index=False)
    items.to_csv(tp, index=False)
    out = tmp_path / "model.bin"
    rc = main(["fit", "--interactions", str(ip), "--items", str(tp), "--model", str(out), "--epochs", "1",
               "--config", '{"dim": 16, "hidden": 32, "n_negatives": 32, "history_len": 10}',
               "--image-arch", "resnet18", "--image-cache", str(tmp_path / "c")])
    assert rc == 0
    art = api.Artifact.from_bytes(out.read_bytes())
    assert art.content.image is not None and art.content.image[:, -1].sum() == len(items) - 2
