"""Tiny synthetic shop data and configs that keep the forecasting tests fast (CPU, no Django)."""
import numpy as np
import pandas as pd
import pytest

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 180, 30)}


def make_data(tmp_path=None, n_items=6, days=200, start="2021-01-01", seed=0, images=True, size=48):
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    rows, items = [], []
    for k in range(n_items):
        colour = list(COLOURS)[k % 3]
        level = 2.0 + 3.0 * (colour == "red") + k % 2
        path = ""
        if images and tmp_path is not None:
            from PIL import Image

            path = str(tmp_path / f"img{k}.png")
            Image.new("RGB", (size, size), COLOURS[colour]).save(path)
        items.append({"item_id": f"SKU{k}", "name": f"{colour} mug {k}",
                      "description": f"a lovely {colour} ceramic mug", "category": "mugs" if k % 2 else "cups",
                      "image_path": path})
        for d, day in enumerate(dates):
            lam = level * (1.3 if day.dayofweek < 5 else 0.6)
            rows.append({"date": day.strftime("%Y-%m-%d"), "item_id": f"SKU{k}", "units": float(rng.poisson(lam)),
                         "price": 9.99, "views": float(rng.poisson(lam * 5)), "add_to_carts": float(rng.poisson(lam * 2)),
                         "promo": 0.0, "stockout": 0.0})
    return pd.DataFrame(rows), pd.DataFrame(items)


TINY = {"image_arch": "resnet18", "image_size": 32, "window": 28, "horizon": 10, "epochs": 2, "patience": 2,
        "hidden": 8, "stride": 7, "val_stride": 7, "batch_size": 64, "fusion_width": 8, "fused_dim": 8,
        "word_dim": 8, "head_hidden": 16, "num_threads": 1, "progress_bar": False}


@pytest.fixture
def tiny_config():
    return dict(TINY)


@pytest.fixture
def shop(tmp_path):
    return make_data(tmp_path)
