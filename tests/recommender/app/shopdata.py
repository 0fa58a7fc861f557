"""A small shop with a clear structure for training tests: two families of products (mugs, lamps), customers who
each keep to one family and re-buy, written through the shop's own writers (events, historic orders)."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.utils import timezone

from shop import events, imports
from shop.models import Category, Product

TINY = {"epochs": 10, "dim": 16, "hidden": 32, "n_negatives": 64, "batch_size": 128, "history_len": 10,
        "seed": 0}
SETTINGS = {"RECOMMENDER_ENGINE_CONFIG": TINY, "RECOMMENDER_GATE_BASELINES": ["popularity"],
            "RECOMMENDER_GATE_MIN_USERS": 3, "RECOMMENDER_HISTORY_DAYS": 90, "RECOMMENDER_TRAIN_THREADS": 1,
            "RECOMMENDER_REFIT": "false", "RECOMMENDER_CONTROL_SHARE": 0.0, "RECOMMENDER_IMAGE_FEATURES": "false"}
# the same, as the environment of a worker process
WORKER_ENV = {k: json.dumps(v) if isinstance(v, dict) else ",".join(v) if isinstance(v, list) else str(v)
              for k, v in SETTINGS.items()}


def build(n_customers: int = 24, days: int = 60, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    mugs = Category.objects.create(name="Mugs", slug="mugs")
    lamps = Category.objects.create(name="Lamps", slug="lamps")
    products = {"mug": [], "lamp": []}
    for fam, cat in (("mug", mugs), ("lamp", lamps)):
        for k in range(8):
            products[fam].append(Product.objects.create(
                name=f"{fam.title()} {k}", slug=f"{fam}-{k}", sku=f"{fam.upper()}-{k}", category=cat,
                price=Decimal("10.00") + k, stock=50, description=f"A {fam} number {k}.", popularity=10 + k))
    # a new product nobody has looked at yet: its list can only come from its content
    products["new"] = [Product.objects.create(name="Mug new", slug="mug-new", sku="MUG-NEW", category=mugs,
                                              price=Decimal("12.00"), stock=50, description="A mug number 9.")]
    User = get_user_model()
    customers = {"mug": [], "lamp": []}
    end = timezone.localdate() - timedelta(days=1)
    tz = timezone.get_current_timezone()
    records, sales = [], []
    for c in range(n_customers):
        fam = "mug" if c % 2 == 0 else "lamp"
        user = User.objects.create_user(f"shopper{c}", f"shopper{c}@example.com", "pw-123456789")
        customers[fam].append(user)
        own = rng.choice(len(products[fam]), size=3, replace=False)   # each customer's three favourites
        for d in range(days):
            day = end - timedelta(days=days - 1 - d)
            if rng.random() > 0.25:
                continue
            p = products[fam][int(own[rng.integers(3)])] if rng.random() < 0.85 else \
                products[fam][int(rng.integers(len(products[fam])))]
            at = datetime.combine(day, time(10), tzinfo=tz) + timedelta(minutes=int(rng.integers(600)))
            vid = f"v{c:031d}"
            for kind, dt in (("view", 0), ("cart_add", 2)):
                records.append({"kind": kind, "at": (at + timedelta(minutes=dt)).isoformat(), "session_key": vid,
                                "user_id": user.pk, "product_id": p.pk, "quantity": 1, "source": "list",
                                "query": "", "data": None})
            sales.append(imports.SaleLine(line=len(sales) + 1, at=at + timedelta(minutes=5), sku=p.sku, quantity=1,
                                          unit_price=p.price, customer="", order_ref=f"T-{c}-{d}", visitor=vid,
                                          user_id=user.pk))
    events.write(records)
    imports.load_sales(imports.SalesBatch(sales, Counter(), len(sales)))
    return {"products": products, "customers": customers}
