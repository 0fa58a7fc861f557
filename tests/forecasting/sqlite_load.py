"""Load for test_sqlite_concurrency: run as ``python -m tests.forecasting.sqlite_load ROLE`` against a SQLite
DATABASE_URL. Roles: setup (products + a serving model), worker (publishes forecasts and writes training
progress, like a Celery worker), web (logs events, places orders and reads forecasts, like a web process)."""
from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

N_PRODUCTS = 300


def setup():
    from registry import services as registry
    from shop.models import Category, Product

    cat = Category.objects.create(name="Things", slug="things")
    Product.objects.bulk_create([Product(name=f"P{i}", slug=f"p{i}", sku=f"S{i}", category=cat, price=Decimal("9.99"),
                                         stock=10_000) for i in range(N_PRODUCTS)])
    version = registry.create_version("forecast")
    registry.promote(version)
    with connection.cursor() as cur:
        cur.execute("PRAGMA journal_mode")
        print(cur.fetchone()[0])


def worker(rounds: int):
    import pandas as pd

    from forecasting.publish import publish
    from registry import services as registry
    from shop.models import Product

    version = registry.serving_version("forecast")
    run = registry.start_run("forecast")
    registry.claim_run(run.pk)
    as_of = timezone.localdate() - timedelta(days=1)
    ids = list(Product.objects.values_list("pk", flat=True))
    for k in range(rounds):
        frame = pd.DataFrame([{"product_id": i, "date": as_of + timedelta(days=h), "p10": 0.5, "p50": 1.0 + k,
                               "p90": 2.0 + k} for i in ids for h in range(1, 46)])
        publish(version, frame, as_of=as_of)
        for e in range(10):  # per-epoch progress writes
            registry.update_run(run, progress=(k * 10 + e) / (rounds * 10), epoch=e)
    registry.finish_run(run, "done")


def web(requests: int):
    from forecasting import results
    from shop import checkout
    from shop.models import Cart, CartLine, Event, Product

    products = list(Product.objects.order_by("pk")[:20])
    for i in range(requests):
        p = products[i % len(products)]
        Event.objects.create(kind=Event.Kind.VIEW, at=timezone.now(), product=p, session_key=f"s{i}")
        results.summary(p.pk)
        if i % 10 == 0:
            cart = Cart.objects.create()
            CartLine.objects.create(cart=cart, product=p, quantity=1)
            with transaction.atomic():
                checkout.place_order(cart, email="x@example.com", address=checkout.Address(
                    full_name="X", address_line1="1 St", city="Berlin", postal_code="10115", country="DE"))


if __name__ == "__main__":
    role = sys.argv[1]
    t0 = time.monotonic()
    {"setup": setup, "worker": lambda: worker(int(sys.argv[2])), "web": lambda: web(int(sys.argv[2]))}[role]()
    print(f"{role} done in {time.monotonic() - t0:.1f}s")
