#!/usr/bin/env python
"""Data jobs: seed_demo time (SQLite and PostgreSQL), and the ML data contract (shop.analytics) at scale.

Part 1: `manage.py seed_demo` at the default scale (300 products, 2000 customers, 730 days) into a fresh
        SQLite file and a fresh PostgreSQL database (shop_bench_seed); wall time of the command, and the
        command's own line (generation vs load).
Part 2: PostgreSQL database shop_bench_data with 1,000 products x 730 days, built with
        shop.demo.generator.generate(n_products=1000, ...) and seed_demo's loader (timed; reused on the next
        run if it is already there, --reload to rebuild), then shop.analytics.daily_product_stats over the
        730 days for all products and shop.analytics.interactions() over the same span (--repeat runs each).
        The default loader is seed_demo's own `load()` with its INSERT batches swapped for PostgreSQL COPY and
        the product photos skipped (the analytics never read them); --loader seed_demo uses it unchanged.

    nice python benchmarks/shop/bench_data.py                  # both parts
    nice python benchmarks/shop/bench_data.py --skip-seed      # part 2 only
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop._common import ROOT, apply_env, bench_env, check_loopback, ensure_database, setup_django  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432/"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pg", default=PG, help="PostgreSQL server URL on 127.0.0.1, ending in / (default %(default)s)")
    p.add_argument("--skip-seed", action="store_true", help="skip part 1")
    p.add_argument("--skip-analytics", action="store_true", help="skip part 2")
    p.add_argument("--seed-products", type=int, default=300)
    p.add_argument("--seed-customers", type=int, default=2000)
    p.add_argument("--products", type=int, default=1000, help="products in part 2")
    p.add_argument("--customers", type=int, default=5000, help="customers in part 2")
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--data-db", default="shop_bench_data", help="database name for part 2 (default %(default)s)")
    p.add_argument("--reload", action="store_true", help="rebuild the part 2 database")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--loader", choices=["copy", "seed_demo"], default="copy",
                   help="how part 2 is loaded: copy = seed_demo's loader (COPY) without photos; seed_demo = with photos")
    args = p.parse_args()
    check_loopback(args.pg + "x")
    return args


def seed_time(database_url: str, products: int, customers: int) -> tuple[float, str]:
    env = {**os.environ, **bench_env(database_url)}
    env.pop("REDIS_URL", None)
    env["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="shop-seed-media-")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "manage.py", "seed_demo", "--products", str(products), "--customers",
                          str(customers)], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, out.stdout.strip().splitlines()[-1]


def use_copy_loader() -> None:
    """Skip the photos (benchmark data only). seed_demo's row writer, shop.imports.bulk_insert, uses COPY on
    PostgreSQL itself (this benchmark measured it 4.7x faster than multi-row INSERTs)."""
    from shop.management.commands import seed_demo

    seed_demo.images.add_product_image = lambda *a, **k: None


def main() -> None:
    args = parse()
    if not args.skip_seed:
        print(f"part 1: manage.py seed_demo --products {args.seed_products} --customers {args.seed_customers} "
              f"(730 days), fresh database each")
        with tempfile.TemporaryDirectory() as tmp:
            secs, line = seed_time(f"sqlite:///{tmp}/seed.sqlite3", args.seed_products, args.seed_customers)
            print(f"  SQLite      {secs:6.1f} s   {line}")
        ensure_database(args.pg + "shop_bench_seed", fresh=True)
        secs, line = seed_time(args.pg + "shop_bench_seed", args.seed_products, args.seed_customers)
        print(f"  PostgreSQL  {secs:6.1f} s   {line}")
    if args.skip_analytics:
        return

    url = args.pg + args.data_db
    ensure_database(url, fresh=args.reload)
    apply_env(bench_env(url, MEDIA_ROOT=tempfile.mkdtemp(prefix="shop-data-media-")))
    setup_django()
    from django.db import connection, transaction
    from django.db.models import Max, Min

    from shop import analytics
    from shop.management.commands.seed_demo import load
    from shop.models import Event, Order, Product

    n = Product.objects.count()
    print(f"\npart 2: {args.products} products x {args.days} days on PostgreSQL ({args.data_db})")
    if n != args.products:
        if n:
            raise SystemExit(f"{args.data_db} has {n} products; run with --reload")
        from shop.demo.generator import generate

        if args.loader == "copy":
            use_copy_loader()
        t0 = time.perf_counter()
        data = generate(n_products=args.products, n_customers=args.customers, days=args.days)
        t_gen = time.perf_counter() - t0
        if args.loader == "copy":
            from PIL import Image

            data.draw_image = lambda sku, size=1: Image.new("RGB", (1, 1))  # photos are skipped anyway
        with transaction.atomic():
            counts = load(data)
        t_load = time.perf_counter() - t0 - t_gen
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        print(f"  built: generate {t_gen:.1f} s, load {t_load:.1f} s ({args.loader} loader): "
              + ", ".join(f"{v} {k}" for k, v in counts.items()))
    else:
        print(f"  reusing: {Order.objects.count()} orders, {Event.objects.count()} events")
    span = Event.objects.aggregate(lo=Min("at"), hi=Max("at"))
    end = span["hi"].date()
    start = end - timedelta(days=args.days - 1)
    for rep in range(1, args.repeat + 1):
        t0 = time.perf_counter()
        daily = analytics.daily_product_stats(start, end)
        t_daily = time.perf_counter() - t0
        t0 = time.perf_counter()
        inter = analytics.interactions(start, end)
        t_inter = time.perf_counter() - t0
        print(f"  run {rep}: daily_product_stats({start}..{end}) {t_daily:6.1f} s -> {len(daily):,} rows "
              f"({daily.item_id.nunique()} products); interactions() {t_inter:6.1f} s -> {len(inter):,} rows")


if __name__ == "__main__":
    main()
