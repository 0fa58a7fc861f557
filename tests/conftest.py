"""Shared fixtures. The test command (scripts/test.sh) points DATABASE_URL at the local PostgreSQL and REDIS_URL at
the local Redis; pytest-django creates and drops the test database."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def db_env() -> dict[str, str]:
    """Environment for a subprocess (gunicorn, a Celery worker) that must use the test database."""
    from django.db import connection

    s = connection.settings_dict
    url = f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env["DATABASE_CONN_MAX_AGE"] = "0"
    return env


def png_bytes(colour=(200, 30, 30), size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SHOP_EVENT_LOG = "direct"


@pytest.fixture
def make_product(db):
    from shop.models import Category, Product

    counter = {"n": 0}

    def make(name=None, price="10.00", stock=10, category=None, **kw):
        counter["n"] += 1
        n = counter["n"]
        if category is None:
            category, _ = Category.objects.get_or_create(slug="things", defaults={"name": "Things"})
        return Product.objects.create(
            name=name or f"Product {n}", slug=f"product-{n}-{os.getpid()}", sku=f"SKU-{n}", category=category,
            price=Decimal(price), stock=stock, description=kw.pop("description", f"A fine product number {n}."),
            **kw)

    return make


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "s3cret-pass-123")


@pytest.fixture
def other_user(db, django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "s3cret-pass-456")


ADDRESS = dict(full_name="Alice Example", address_line1="1 Main St", city="Berlin", postal_code="10115",
               country="DE")


@pytest.fixture
def buy(db):
    """Place an order for {product: qty} as `user` (or a guest)."""
    from shop import checkout
    from shop.models import Cart, CartLine

    def place(items: dict, user=None, email="buyer@example.com"):
        cart = Cart.objects.create()
        for product, qty in items.items():
            CartLine.objects.create(cart=cart, product=product, quantity=qty)
        return checkout.place_order(cart, email=email, user=user, address=checkout.Address(**ADDRESS))

    return place
