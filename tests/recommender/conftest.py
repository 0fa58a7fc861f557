"""Tiny synthetic shop data for the recommender engine tests (no Django, no database)."""
import numpy as np
import pandas as pd
import pytest
import torch

torch.set_num_threads(1)

TINY = {"epochs": 2, "dim": 16, "hidden": 32, "n_negatives": 32, "batch_size": 128, "history_len": 10, "seed": 0}


def make_data(n_users=30, n_items=40, n_days=60, seed=0):
    """Users prefer one of 4 categories; views lead to carts and purchases."""
    rng = np.random.default_rng(seed)
    cats = ["mugs", "lamps", "bags", "cards"]
    items = pd.DataFrame({
        "item_id": [f"sku{k}" for k in range(n_items)],
        "name": [f"{cats[k % 4][:-1]} model {k}" for k in range(n_items)],
        "description": [f"a lovely {cats[k % 4][:-1]} in colour {['red', 'blue', 'green'][k % 3]}" for k in range(n_items)],
        "category": [cats[k % 4] for k in range(n_items)],
        "price": [round(2 + 3 * (k % 7), 2) for k in range(n_items)],
    })
    rows = []
    t0 = pd.Timestamp("2024-01-01")
    for u in range(n_users):
        fav = u % 4
        for _ in range(rng.integers(4, 15)):
            k = int(rng.integers(0, n_items // 4)) * 4 + fav if rng.random() < 0.8 else int(rng.integers(0, n_items))
            t = t0 + pd.Timedelta(minutes=int(rng.integers(0, n_days * 24 * 60)))
            rows.append((t, f"u{u}", f"sku{k}", "view", 1, ""))
            if rng.random() < 0.5:
                rows.append((t + pd.Timedelta(minutes=1), f"u{u}", f"sku{k}", "cart", 1, ""))
                if rng.random() < 0.6:
                    rows.append((t + pd.Timedelta(minutes=2), f"u{u}", f"sku{k}", "purchase", int(rng.integers(1, 3)), ""))
    # two anonymous sessions
    rows.append((t0 + pd.Timedelta(days=5), "", "sku1", "view", 1, "s1"))
    rows.append((t0 + pd.Timedelta(days=5, minutes=3), "", "sku5", "view", 1, "s1"))
    rows.append((t0 + pd.Timedelta(days=50), "", "sku2", "view", 1, "s2"))
    inter = pd.DataFrame(rows, columns=["timestamp", "user_id", "item_id", "event", "quantity", "session_id"])
    inter = inter.sort_values("timestamp", kind="stable").reset_index(drop=True)
    inter["timestamp"] = inter["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return inter, items


@pytest.fixture(scope="session")
def data():
    return make_data()


@pytest.fixture(scope="session")
def artifact(data):
    from recommender.engine import api

    inter, items = data
    return api.fit(inter, items, TINY, verbose=False)


@pytest.fixture
def csv_files(tmp_path, data):
    inter, items = data
    ip, tp = tmp_path / "interactions.csv", tmp_path / "items.csv"
    inter.to_csv(ip, index=False)
    items.to_csv(tp, index=False)
    return ip, tp


@pytest.fixture(autouse=True)
def _media():
    """The engine tests need neither Django nor media settings: override the project-wide autouse fixture (which
    needs pytest-django's ``settings``) so ``pytest tests/recommender -p no:django`` works."""
    yield


@pytest.fixture(autouse=True)
def _pages_not_kept():
    """No Django here either (see _media)."""
    yield
