"""Publishing forecasts: 10,000 products x 45 days (450,000 rows + 10,000 summaries) on PostgreSQL and SQLite.

    nice python benchmarks/forecasting/bench_publish.py [--products 10000] [--repeat 3] [--skip-sqlite]

Times forecasting.publish.publish() end to end (checks, stock and daily prices from shop.analytics, the inventory
maths, COPY/INSERT of rows and summaries in short transactions, the atomic swap, deleting the publication before
the previous one) and prints rows/s. The forecast values are synthetic (no model): this measures the write path.
Each backend runs in its own process; PostgreSQL uses a fresh database shop_bench_publish on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop._common import apply_env, bench_env, ensure_database, setup_django  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432/shop_bench_publish"


def worker(products: int, repeat: int) -> None:
    from datetime import timedelta
    from decimal import Decimal

    import numpy as np
    import pandas as pd
    from django.db import connection
    from django.utils import timezone

    from forecasting.publish import publish
    from registry import services as registry
    from shop.models import Category, Product

    cat = Category.objects.create(name="Bench", slug="bench")
    Product.objects.bulk_create([Product(name=f"Bench {i}", slug=f"bench-{i}", sku=f"B{i:06d}", category=cat,
                                         price=Decimal("19.90"), stock=i % 200) for i in range(products)],
                                batch_size=2000)
    ids = np.array(sorted(Product.objects.values_list("pk", flat=True)))
    version = registry.create_version("forecast")
    registry.promote(version)
    as_of = timezone.localdate() - timedelta(days=1)
    rng = np.random.default_rng(0)
    p50 = rng.gamma(1.0, 1.5, size=(len(ids), 45))
    frame = pd.DataFrame({"product_id": np.repeat(ids, 45),
                          "date": np.tile([as_of + timedelta(days=h) for h in range(1, 46)], len(ids)),
                          "p10": (p50 * 0.4).ravel(), "p50": p50.ravel(), "p90": (p50 * 1.8).ravel()})
    rows = len(frame)
    for k in range(repeat):
        t0 = time.perf_counter()
        pub = publish(version, frame, as_of=as_of)
        s = time.perf_counter() - t0
        note = " (+ deleting the publication before the previous one)" if k >= 2 else ""
        print(f"{connection.vendor:<10} run {k + 1}: {pub.n_products} products, {rows} rows in {s:.2f}s = "
              f"{rows / s:,.0f} rows/s{note}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--products", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-sqlite", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        import warnings

        warnings.simplefilter("ignore", FutureWarning)  # pandas, inside shop.analytics on an empty future window
        setup_django()
        worker(args.products, args.repeat)
        return
    targets = [PG] + ([] if args.skip_sqlite else [f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"])
    for url in targets:
        if url.startswith("postgres"):
            ensure_database(url, fresh=True)
        env = bench_env(url)
        apply_env(env)
        subprocess.run([sys.executable, __file__, "--child", "--products", str(args.products), "--repeat",
                        str(args.repeat)], env={**__import__("os").environ, **env}, check=True)


if __name__ == "__main__":
    main()
