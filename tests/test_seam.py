"""The seam between the shop and the engines: the real output of shop.analytics, through forecasting/inputs.py
and recommender/inputs.py, into both engines. Photos must arrive (they once silently became "no image" because
catalog_items() names the photo `image` while the engines read `image_path`), from local media and from S3."""
import hashlib
import logging
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from shop import images
from shop.models import Category, Event, Order
from tests.conftest import png_bytes, use_s3

DAYS = 60
TINY_FORECAST = {"image_size": 32, "window": 28, "horizon": 10, "epochs": 1, "patience": 1, "hidden": 8,
                 "stride": 7, "val_stride": 7, "batch_size": 64, "fusion_width": 8, "fused_dim": 8, "word_dim": 8,
                 "head_hidden": 16, "num_threads": 1, "progress_bar": False}
TINY_RECOMMEND = {"epochs": 1, "dim": 16, "hidden": 32, "n_negatives": 16, "batch_size": 64, "history_len": 10}


@pytest.fixture
def small_shop(make_product, buy, user, other_user, settings, tmp_path):
    """Three products (two with photos), two months of orders and views, all through the shop's own code."""
    settings.ML_CACHE_DIR = tmp_path / "ml-cache"
    settings.ML_IMAGE_ARCH = "resnet18"
    settings.ML_IMAGE_WEIGHTS = None
    today = timezone.localdate()
    start = today - timedelta(days=DAYS - 1)
    made = timezone.now() - timedelta(days=DAYS + 5)
    mugs = Category.objects.create(name="Mugs", slug="mugs")
    red = make_product(name="Red mug", category=mugs, stock=10_000, created_at=made)
    blue = make_product(name="Blue mug", category=mugs, stock=10_000, created_at=made)
    plain = make_product(name="Plain mug", category=mugs, stock=10_000, created_at=made)
    photos = {red.pk: images.add_product_image(red, png_bytes((220, 20, 20), (80, 60)), "red.png"),
              blue.pk: images.add_product_image(blue, png_bytes((20, 20, 220), (80, 60)), "blue.png")}
    rng = np.random.default_rng(0)
    for d in range(0, DAYS, 3):
        when = timezone.now() - timedelta(days=DAYS - 1 - d)
        for product, shopper in ((red, user), (blue, other_user), (plain, None)):
            order = buy({product: int(rng.integers(1, 4))}, user=shopper)
            Order.objects.filter(pk=order.pk).update(created_at=when)
            Event.objects.create(kind=Event.Kind.VIEW, at=when, product=product, user=shopper,
                                 session_key="" if shopper else f"guest-{d}")
    return {"start": start, "end": today, "photos": photos, "products": (red, blue, plain)}


def _check_photos(items, shop, inside=None):
    by_id = dict(zip(items["item_id"], items["image_path"]))
    red, blue, plain = shop["products"]
    assert by_id[str(plain.pk)] == ""
    for product in (red, blue):
        path = Path(by_id[str(product.pk)])
        assert path.is_file()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == shop["photos"][product.pk].content_hash
        if inside is not None:
            assert inside in path.parents


@pytest.mark.parametrize("media", ["local", "s3"])
@pytest.mark.django_db(transaction=True)
def test_shop_data_reaches_both_engines_with_photos(media, request, settings, tmp_path):
    if media == "s3":
        use_s3(settings, request.getfixturevalue("moto_server"), f"seam-{uuid.uuid4().hex[:12]}")
        assert default_storage.__class__.__name__ == "S3Storage"
    shop = request.getfixturevalue("small_shop")
    from forecasting import inputs as f_inputs
    from forecasting.engine import api as forecaster
    from recommender import inputs as r_inputs
    from recommender.engine import api as recommender

    photos = tmp_path / "photos"
    # forecasting: daily stats + catalog -> fit -> the model saw both photos
    sales = f_inputs.sales(shop["start"], shop["end"])
    items = f_inputs.items(photos=photos)
    _check_photos(items, shop, inside=photos if media == "s3" else None)
    assert sales["units"].sum() > 0 and set(sales["item_id"]) == set(items["item_id"])
    art = forecaster.fit(sales, items, {**TINY_FORECAST, **f_inputs.image_options()})
    assert art.metrics["n_images"] == 2
    fc = forecaster.predict(forecaster.Artifact.from_bytes(art.to_bytes()), sales, items, horizon=10)
    assert len(fc) == 3 * 10 and fc["p50"].notna().all()

    # recommender: interactions + catalog -> image vectors -> fit -> the item tower has both photos
    inter = r_inputs.interactions(shop["start"], shop["end"])
    r_items = r_inputs.items(photos=photos)
    _check_photos(r_items, shop, inside=photos if media == "s3" else None)
    assert {"view", "purchase"} <= set(inter["event"])
    feats = r_inputs.image_features(r_items)
    assert set(feats) == {str(p.pk) for p in shop["products"][:2]}
    rart = recommender.fit(inter, r_items, TINY_RECOMMEND, image_features=feats, verbose=False)
    has_photo = {rart.item_ids[k] for k in np.flatnonzero(rart.content.image[:, -1])}
    assert has_photo == set(feats)
    assert len(recommender.predict(rart, k=2)) > 0


@pytest.mark.django_db(transaction=True)
def test_photos_from_s3_are_fetched_once_and_refetched_when_changed(moto_server, settings, tmp_path, make_product):
    from shop import analytics

    use_s3(settings, moto_server, f"seam-{uuid.uuid4().hex[:12]}")
    p = make_product()
    images.add_product_image(p, png_bytes((1, 2, 3)), "a.png")
    folder = tmp_path / "photos"
    first = analytics.photo_files(analytics.catalog_items(), folder)
    assert Path(first[0]).parent.parent == folder
    Path(first[0]).write_bytes(b"kept")           # a second call must not fetch it again
    assert analytics.photo_files(analytics.catalog_items(), folder) == first
    assert Path(first[0]).read_bytes() == b"kept"
    p.images.all().delete()
    images.add_product_image(p, png_bytes((9, 9, 9)), "b.png")   # a new photo: new hash, new copy
    second = analytics.photo_files(analytics.catalog_items(), folder)
    assert second != first and Path(second[0]).read_bytes() == default_storage.open(
        p.main_image.image.name).read()


@pytest.mark.django_db
def test_a_photo_missing_from_storage_is_no_photo_not_a_crash(make_product, tmp_path, caplog):
    from forecasting import inputs as f_inputs

    a, b = make_product(), make_product()
    images.add_product_image(a, png_bytes((1, 2, 3)), "a.png")
    gone = images.add_product_image(b, png_bytes((3, 2, 1)), "b.png")
    default_storage.delete(gone.image.name)
    with caplog.at_level(logging.WARNING):
        items = f_inputs.items(photos=tmp_path)
    paths = dict(zip(items["item_id"], items["image_path"]))
    assert Path(paths[str(a.pk)]).is_file() and paths[str(b.pk)] == ""
    assert gone.image.name in caplog.text
