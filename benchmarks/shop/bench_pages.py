#!/usr/bin/env python
"""Storefront pages under load: requests/s and p50/p99 latency, against the framework's ceiling.

Seeds a PostgreSQL database with the demo shop (manage.py seed_demo; --small for a quicker one), starts
gunicorn (sync workers) on 127.0.0.1 with benchmarks.shop.bench_settings, and drives it with Debian's `wrk` if
installed (apt-get install -y wrk), else a Python keep-alive client (the output says which). Pages: home,
a top-level category, a product, a search. For each page, /__bare__/<page> returns the exact bytes of that
page pre-rendered (same middleware and gunicorn, no queries, no templates); page/bare is the shop's own cost.

Events are logged as in production (SHOP_EVENT_LOG=buffer, Redis db --redis-url; only the shop:events key of
that db is deleted afterwards). Each page runs --duration seconds (10).

    nice python benchmarks/shop/bench_pages.py            # seed (once) + run, about 2 min + seeding
    nice python benchmarks/shop/bench_pages.py --small    # 60 products, 300 customers, 180 days
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop._common import ROOT, apply_env, bench_env, check_loopback, ensure_database, setup_django  # noqa: E402
from benchmarks.shop import _http  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop_bench_pages"


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_DB, help="PostgreSQL on 127.0.0.1 (default %(default)s)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="Redis for the event buffer")
    p.add_argument("--event-log", choices=["buffer", "direct", "off"], default="buffer")
    p.add_argument("--products", type=int, default=300)
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--small", action="store_true", help="seed 60 products, 300 customers, 180 days")
    p.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    p.add_argument("--connections", type=int, default=8, help="concurrent client connections")
    p.add_argument("--duration", type=float, default=10, help="seconds per page")
    p.add_argument("--pages", default="home,category,product,search", help="comma-separated subset")
    args = p.parse_args(argv)
    if args.small:
        args.products, args.customers, args.days = 60, 300, 180
    check_loopback(args.database_url)
    check_loopback(args.redis_url)
    return args


def seed(args, env: dict[str, str]) -> None:
    """Create the database and load the demo shop unless it already has products."""
    ensure_database(args.database_url, fresh=args.reseed)
    full = {**os.environ, **env}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=full, check=True)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "manage.py", "seed_demo", "--if-empty", "--products", str(args.products),
                          "--customers", str(args.customers), "--days", str(args.days)],
                         cwd=ROOT, env=full, check=True, capture_output=True, text=True)
    print(f"seed: {out.stdout.strip().splitlines()[-1]} ({time.perf_counter() - t0:.1f} s)")


def page_paths() -> dict[str, str]:
    """URLs of the pages, chosen from the seeded data (deterministic)."""
    from django.db.models import Count

    from shop.models import Category, Product

    top = (Category.objects.filter(parent=None).annotate(n=Count("children__products"))
           .order_by("-n", "slug").first())
    prod = Product.objects.filter(is_active=True).order_by("-popularity", "pk").first()
    word = prod.name.split()[-1].lower() if not prod.name.split()[-1].isdigit() else prod.name.split()[-2].lower()
    return {"home": "/", "category": f"/c/{top.slug}/", "product": f"/p/{prod.slug}/", "search": f"/search/?q={word}"}


def measure(server: _http.Gunicorn, pages: dict[str, str], args, bare_dir: Path, bare: bool = True):
    rows = []
    for name, path in pages.items():
        body = _http.fetch(server.base + path)
        (bare_dir / f"{name}.html").write_bytes(body)
        for _ in range(20):  # warm: connections, template cache, Postgres buffers
            _http.fetch(server.base + path)
        real = _http.load(server.base + path, args.duration, args.connections)
        ceiling = None
        if bare:
            assert _http.fetch(server.base + f"/__bare__/{name}") == body
            ceiling = _http.load(server.base + f"/__bare__/{name}", args.duration, args.connections)
        rows.append((name, path, len(body), real, ceiling))
    return rows


def main(argv=None) -> None:
    args = parse(argv)
    bare_dir = Path(tempfile.mkdtemp(prefix="shop-bare-"))
    env = bench_env(args.database_url, REDIS_URL=args.redis_url, SHOP_EVENT_LOG=args.event_log,
                    CELERY_TASK_ALWAYS_EAGER="true", BENCH_BARE_DIR=str(bare_dir), DATABASE_CONN_MAX_AGE="60")
    seed(args, env)
    apply_env(env)
    os.environ["REDIS_URL"] = args.redis_url
    setup_django(migrate=False)
    pages = {k: v for k, v in page_paths().items() if k in args.pages.split(",")}
    print(f"load generator: {_http.tool()} ({args.connections} connections"
          f"{', 2 threads' if _http.tool() == 'wrk' else ''}), {args.duration:.0f} s per URL; "
          f"gunicorn {args.workers} sync workers; SHOP_EVENT_LOG={args.event_log}; cores: {os.cpu_count()}")
    with _http.Gunicorn(env, workers=args.workers) as server:
        rows = measure(server, pages, args, bare_dir)
    import redis

    redis.Redis.from_url(args.redis_url).delete("shop:events")
    print(f"\n{'page':<9} {'path':<34} {'bytes':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} | "
          f"{'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'page/bare':>9}")
    for name, path, size, real, bare in rows:
        print(f"{name:<9} {path:<34} {size:>7} {real.rps:>7.1f} {real.p50_ms:>7.1f} {real.p99_ms:>7.1f} | "
              f"{bare.rps:>10.1f} {bare.p50_ms:>7.1f} {bare.p99_ms:>7.1f} | {real.rps / bare.rps:>9.2f}"
              + (f"  errors {real.errors}/{bare.errors}" if real.errors or bare.errors else ""))
    print("page/bare = page req/s divided by bare req/s (1.00 = the page costs no more than the framework)")


if __name__ == "__main__":
    main()
