#!/usr/bin/env python
"""Publishing recommendations in bulk: 100,000 customers x 20 products (2 million recommendations, one row per
customer) plus the catalog's "customers also bought" lists, on PostgreSQL, through recommender.publish.publish (checks, filtering to
active and in-stock products, COPY in chunks, the atomic swap, the deletion of the publication before last).

The customers are real rows of auth_user (created once with COPY in the benchmark's database); their lists are
random products of a 300-product catalog (the write path does not care what is recommended). The engine's scoring
is not included (see RESULTS.md: top 10 for 10,000 users in ~5 s on one CPU thread).

    nice python benchmarks/recommender/bench_publish.py                    # ~1-3 min
    nice python benchmarks/recommender/bench_publish.py --customers 20000
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop._common import apply_env, bench_env, check_loopback, ensure_database, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop_bench_publish"


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_DB)
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--products", type=int, default=300)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--repeat", type=int, default=2, help="publications in a row (the second one swaps and deletes)")
    args = p.parse_args(argv)
    check_loopback(args.database_url)
    return args


def fixtures(n_customers: int, n_products: int) -> tuple[list[int], list[int]]:
    """Customers and products in the database (created once)."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from shop.imports import bulk_insert
    from shop.models import Category, Product

    User = get_user_model()
    have = User.objects.filter(username__startswith="bench-").count()
    if have < n_customers:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        pw = make_password(None)
        with transaction.atomic():
            bulk_insert(User, ["password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
                               "is_active", "date_joined"],
                        ((pw, False, f"bench-{k}", "", "", f"bench-{k}@example.com", False, True, now)
                         for k in range(have, n_customers)))
    if Product.objects.count() < n_products:
        cat, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        Product.objects.bulk_create([Product(name=f"Bench product {k}", slug=f"bench-product-{k}",
                                             sku=f"BENCH-{k}", category=cat, price=Decimal("9.99"), stock=100)
                                     for k in range(Product.objects.count(), n_products)])
    users = list(User.objects.filter(username__startswith="bench-").order_by("pk")
                 .values_list("pk", flat=True)[:n_customers])
    products = list(Product.objects.order_by("pk").values_list("pk", flat=True)[:n_products])
    return users, products


def frames(users, products, top, seed=0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    prods = np.array(products)
    n = len(users)
    picks = np.argsort(rng.random((n, len(prods))), axis=1)[:, :top]  # distinct products per customer
    cust = pd.DataFrame({"user_id": np.repeat(users, top), "rank": np.tile(np.arange(1, top + 1), n),
                         "product_id": prods[picks].ravel(), "score": rng.random(n * top)})
    m = len(prods)
    ppicks = np.argsort(rng.random((m, m)), axis=1)[:, :top + 1]
    prod = pd.DataFrame({"source_id": np.repeat(prods, top + 1), "rank": np.tile(np.arange(1, top + 2), m),
                         "product_id": prods[ppicks].ravel(), "score": rng.random(m * (top + 1)), "basis": "bought"})
    return cust, prod


def main(argv=None):
    args = parse(argv)
    ensure_database(args.database_url)
    apply_env(bench_env(args.database_url, LOG_LEVEL="WARNING"))
    setup_django(migrate=True)
    from recommender.publish import publish
    from registry import services as registry

    t0 = time.perf_counter()
    users, products = fixtures(args.customers, args.products)
    print(f"fixtures: {len(users)} customers, {len(products)} products ({time.perf_counter() - t0:.1f} s); "
          f"load average {os.getloadavg()[0]:.1f}, cores {os.cpu_count()}")
    cust, prod = frames(users, products, args.top)
    version = registry.create_version("recommender", engine="bench")
    print(f"{'run':>3} {'customers':>10} {'recommended':>12} {'products':>9} {'related':>8} {'seconds':>8} "
          f"{'customers/s':>12} {'recommendations/s':>18}")
    for k in range(args.repeat):
        t0 = time.perf_counter()
        pub = publish(version, cust, prod, top=args.top)
        s = time.perf_counter() - t0
        items = pub.n_customer_items + pub.n_product_items
        print(f"{k + 1:>3} {pub.n_customers:>10,} {pub.n_customer_items:>12,} {pub.n_products:>9,} "
              f"{pub.n_product_items:>8,} {s:>8.1f} {pub.n_customers / s:>12,.0f} {items / s:>18,.0f}")
    print("one row per customer (and per product) holds its ranked list; the rates are per wall second of "
          "publish(): checks, filtering, COPY, swap, clean-up")


if __name__ == "__main__":
    main()
