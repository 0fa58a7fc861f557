"""The recommender's Django side: a small catalog in two families and helpers to publish rows as a model would.
(tests/recommender/conftest.py switches the project-wide media/event fixture off for the engine tests; the app
tests need it back.)"""
from __future__ import annotations

import pandas as pd
import pytest

from shop.models import Category
from tests.conftest import pages_not_kept


@pytest.fixture(autouse=True)
def _pages_not_kept(settings):  # tests/recommender/conftest.py switched it off for the engine tests
    yield from pages_not_kept(settings)


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SHOP_EVENT_LOG = "direct"
    settings.SHOP_EVENT_BATCH_SECONDS = 0
    settings.RECOMMENDER_CONTROL_SHARE = 0.0   # everyone in the model arm unless a test says otherwise
    settings.RECOMMENDER_SLOT_SIZE = 4
    settings.RECOMMENDER_READ_CACHE_SECONDS = 0
    from recommender.results import clear_cache
    from recommender.slots import clear_kept

    clear_cache()
    clear_kept()
    yield
    clear_cache()
    clear_kept()


@pytest.fixture
def catalog(db, make_product):
    """Mugs m0..m5 and lamps l0..l5, in stock; popularity decreasing with the index (m0 most popular)."""
    mugs = Category.objects.create(name="Mugs", slug="mugs")
    lamps = Category.objects.create(name="Lamps", slug="lamps")
    out = {}
    for k in range(6):
        out[f"m{k}"] = make_product(name=f"Mug {k}", category=mugs, stock=20, popularity=100 - k)
        out[f"l{k}"] = make_product(name=f"Lamp {k}", category=lamps, stock=20, popularity=50 - k)
    return out


@pytest.fixture
def publish_rows(db):
    """publish_rows(customers={user: [products]}, related={product: [products]}, basis={product: "content"})
    -> Publication, as a serving model version would publish them."""
    from recommender.models import KIND
    from recommender.publish import publish
    from registry import services as registry

    def make(customers=None, related=None, basis=None):
        version = registry.create_version(KIND, engine="test")
        registry.promote(version)
        cust = [(u.pk, r, p.pk, 1.0 / r) for u, ps in (customers or {}).items() for r, p in enumerate(ps, 1)]
        prod = [(s.pk, r, p.pk, 1.0 / r, (basis or {}).get(s, "bought")) for s, ps in (related or {}).items()
                for r, p in enumerate(ps, 1)]
        return publish(version, pd.DataFrame(cust, columns=["user_id", "rank", "product_id", "score"]),
                       pd.DataFrame(prod, columns=["source_id", "rank", "product_id", "score", "basis"]))

    return make
