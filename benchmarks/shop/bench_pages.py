#!/usr/bin/env python
"""Storefront pages under load: requests/s and p50/p99 latency, against the framework's ceiling.

Seeds a PostgreSQL database with the demo shop (manage.py seed_demo; --small for a quicker one, --products etc.
for a bigger one), starts gunicorn (sync workers) on 127.0.0.1 with benchmarks.shop.bench_settings, and drives it
with Debian's `wrk` if installed (apt-get install -y wrk), else a Python keep-alive client (the output says
which). Pages: home, a top-level category, a product, a search (first-time visitors: no cookies), and the cart
of a visitor with three products in it (their session, visitor and CSRF cookies). For each page,
/__bare__/<page> returns the exact bytes of that page pre-rendered (same middleware and gunicorn, no queries, no
templates); page/bare is the shop's own cost. For the cart (a visitor with a session) a third figure,
/__bare__/cart?read=session: the same bytes after reading the visitor's session from the database (the one
statement, session and cart lines, a cart page makes when its process has not kept that session: shop.sessions,
SHOP_SESSION_CACHE_SECONDS), printed under the table. Then the cart of --cart-visitors visitors (300), each with a
cart of their own, each request the next visitor's (so neither one kept page nor one kept session serves the
load), after a warm-up run over them all, against the same bare view. The queries column counts one request
in-process, as the first request after the caches are emptied and as the next one.

The mixed run (--mixed-urls paths, drawn once with --mixed-seed) spreads the load over the whole catalog: 40 %
product pages over all active products, 30 % category pages (any category, any sort, page 1 most often and up to
the last page), 20 % home, 10 % searches for catalog words. "cold" is a fresh gunicorn with the shared cache
emptied (the pages shared between workers through Redis, SHOP_PAGE_CACHE_SHARED_SECONDS, go with it); "warm"
runs the same list again after warm-up passes over every distinct path (until a pass is served >= --warm-until,
99 %, from the page cache: X-Page-Cache: hit; each gunicorn worker keeps its own pages). Its bare figure walks
the bare pages in the same proportions. --rounds N measures each single page and its bare view N times in turn
and prints the round with the median page/bare (the machine drifts between measurements).

Events are logged as in production (SHOP_EVENT_LOG=buffer, Redis db --redis-url, which also holds the cache;
it is emptied before the cold mixed run and the shop:events key is deleted at the end). Each measurement runs
--duration seconds (10). Worker memory is the resident size of the gunicorn workers after the runs.

    nice python benchmarks/shop/bench_pages.py            # seed (once) + run, about 4 min + seeding
    nice python benchmarks/shop/bench_pages.py --small    # 60 products, 300 customers, 180 days
    nice python benchmarks/shop/bench_pages.py --database-url postgres://postgres@127.0.0.1:5432/shop_bench_10k \
        --products 10000 --customers 20000                 # the 10,000-product catalog (seeding: about an hour)
"""
from __future__ import annotations

import argparse
import math
import os
import random
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
    p.add_argument("--pages", default="home,category,product,search,cart", help="comma-separated subset")
    p.add_argument("--rounds", type=int, default=1,
                   help="page/bare pairs per page; with more than one the row is the round with the median "
                        "page/bare and every round's ratio is printed after it")
    p.add_argument("--cpu", action="store_true",
                   help="also print the CPU time per request of the gunicorn workers and of PostgreSQL (all its "
                        "processes) during each single-page measurement (Linux /proc)")
    p.add_argument("--cart-visitors", type=int, default=300,
                   help="the cart again with this many visitors, each request the next one's own cart (0: skip)")
    p.add_argument("--no-mixed", dest="mixed", action="store_false", help="skip the mixed run")
    p.add_argument("--mixed-urls", type=int, default=20000, help="paths in the mixed run's list")
    p.add_argument("--mixed-seed", type=int, default=0)
    p.add_argument("--page-cache-mb", type=int, default=None,
                   help="SHOP_PAGE_CACHE_MB for the server (default: the setting's default); a large catalog's "
                        "mixed run needs about (distinct pages x mean page size) per worker")
    p.add_argument("--warm-threads", type=int, default=4, help="clients of the mixed run's warm-up passes")
    p.add_argument("--warm-passes", type=int, default=10, help="most warm-up passes")
    p.add_argument("--warm-until", type=float, default=0.99,
                   help="the warm-up stops after a pass served at least this share from the page cache (default "
                        "%(default)s; at 10,000 products each page still rendered in the warm run costs ~20-120 ms, "
                        "so the last 1 %% weighs on its figures: 0.999 with --warm-passes 14)")
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


def cart_visitor() -> dict[str, str]:
    """Cookies of a visitor whose cart holds three products (a session in the database, as a real one)."""
    from shop.models import Product

    picked = list(Product.objects.filter(is_active=True, stock__gt=5).order_by("-popularity", "pk")
                  .prefetch_related("variants")[:3])
    return _visitor_with(picked)


def cart_visitors(n: int, seed: int = 0) -> list[str]:
    """Cookie headers of `n` visitors, each with a cart of their own: 1-4 products drawn from the 200 most popular."""
    import random

    from shop.models import Product

    popular = list(Product.objects.filter(is_active=True, stock__gt=5).order_by("-popularity", "pk")
                   .prefetch_related("variants")[:200])
    rng = random.Random(seed)
    return [_visitor_with(rng.sample(popular, min(len(popular), rng.randint(1, 4))))["Cookie"] for _ in range(n)]


def _visitor_with(products) -> dict[str, str]:
    from django.conf import settings
    from django.utils.crypto import get_random_string

    from shop import cart as carts
    from shop.models import Cart, CartLine
    from shop.sessions import SessionStore

    cart = Cart.objects.create()
    for prod in products:
        variant = next((v for v in prod.variants.all() if v.is_active and v.stock > 0), None)
        CartLine.objects.create(cart=cart, product=prod, variant=variant, quantity=1)
    session = SessionStore()
    session[carts.SESSION_KEY] = cart.pk
    session.save()
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}; vid={get_random_string(32)}; "
                      f"{settings.CSRF_COOKIE_NAME}={get_random_string(32)}"}


def mixed_paths(n: int, seed: int) -> list[str]:
    """`n` paths over the whole catalog: 40 % products, 30 % category pages (sorts, page numbers), 20 % home,
    10 % searches for catalog words (deterministic for a seed)."""
    from django.conf import settings
    from django.db.models import Count

    from shop import catalog, search
    from shop.models import Product

    rng = random.Random(seed)
    products = list(Product.objects.filter(is_active=True).order_by("pk").values_list("slug", flat=True))
    tree = catalog.CategoryTree()
    per_category = dict(Product.objects.filter(is_active=True).values_list("category_id")
                        .annotate(n=Count("id")).order_by())
    counts = {}
    for cat in tree.by_id.values():
        n_products = sum(per_category.get(c, 0) for c in tree.descendant_ids(cat))
        counts[cat.slug] = max(1, math.ceil(n_products / settings.SHOP_PAGE_SIZE))
    slugs = sorted(counts)
    words = sorted(search.vocabulary())
    sorts = list(catalog.SORTS)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.4:
            out.append(f"/p/{rng.choice(products)}/")
        elif r < 0.7:
            slug = rng.choice(slugs)
            page = min(counts[slug], 1 + int(rng.expovariate(0.5)))  # page 1 most often, then 2, 3...
            query = "&".join(x for x in (f"sort={rng.choice(sorts)}", f"page={page}" if page > 1 else "") if x)
            out.append(f"/c/{slug}/?{query}")
        elif r < 0.9:
            out.append("/")
        else:
            out.append(f"/search/?q={rng.choice(words)}")
    return out


def _kind(path: str) -> str:
    return {"p": "product", "c": "category", "search": "search"}.get(path.split("/")[1], "home")


def count_queries(pages: dict[str, str], headers: dict[str, dict]) -> dict[str, tuple[int, int]]:
    """Queries of one request of each page in this process: right after the caches are emptied, and the next."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    out = {}
    for name, path in pages.items():
        client = Client(**{f"HTTP_{k.upper()}": v for k, v in headers.get(name, {}).items()})
        _clear_caches(cache)
        counts = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(path).status_code == 200, path
            counts.append(len(ctx))
        out[name] = tuple(counts)
    return out


def _clear_caches(cache) -> None:
    """The shared cache and this process's own (where the shop has them)."""
    cache.clear()
    try:
        from shop import pagecache
    except ImportError:
        return
    pagecache.clear_local()


def measure(server: _http.Gunicorn, pages: dict[str, str], args, bare_dir: Path, bare: bool = True,
            headers: dict[str, dict] | None = None):
    rows = []
    headers = headers or {}
    for name, path in pages.items():
        h = headers.get(name)
        body = _http.fetch(server.base + path, h)
        (bare_dir / f"{name}.html").write_bytes(body)
        for _ in range(20):  # warm: connections, template cache, Postgres buffers
            _http.fetch(server.base + path, h)
        if bare:
            assert _http.fetch(server.base + f"/__bare__/{name}") == body

        def one_round(path=path, name=name, h=h):
            def load(url, headers=None):
                return _measured_load(server, url, args, headers)

            return (load(server.base + path, h), load(server.base + f"/__bare__/{name}") if bare else None,
                    # a page with a visitor's session: also the bare bytes after the session's read from the database
                    load(server.base + f"/__bare__/{name}?read=session", h) if bare and h else None)

        real, ceiling, with_session = _median_round(args, one_round)
        real.with_session = with_session
        rows.append((name, path, len(body), real, ceiling))
    return rows


def _median_round(args, one_round):
    """--rounds runs of ``one_round`` (page, bare, bare + session read or None), each in turn so the machine's drift
    hits all of them; with more than one, the round with the median page/bare, every round's ratios kept on its page
    result (``rounds``, ``session_rounds``)."""
    runs = [one_round() for _ in range(max(1, args.rounds))]
    if runs[0][1] is None or len(runs) == 1:
        return runs[0]
    runs.sort(key=lambda t: t[0].rps / t[1].rps)
    real, bare, with_session = runs[len(runs) // 2]
    real.rounds = [round(r.rps / b.rps, 2) for r, b, _ in runs]
    if with_session is not None:
        real.session_rounds = [round(r.rps / s.rps, 2) for r, _, s in runs]
    return real, bare, with_session


def measure_cart_visitors(server: _http.Gunicorn, args, cookies: list[str]):
    """The cart of many visitors (each request the next visitor's own cart, so neither a kept page nor a kept
    session serves one visitor over and over): after a warm-up run over them all, --rounds times the cart, the bare
    view and the bare view reading each visitor's session from the database; the round with the median
    page/bare."""
    _http.load(server.base + "/cart/", max(3.0, args.duration / 2), args.connections, cookies=cookies)  # warm-up
    real, bare, with_session = _median_round(args, lambda: (
        _measured_load(server, server.base + "/cart/", args, cookies=cookies),
        _measured_load(server, server.base + "/__bare__/cart", args),
        _measured_load(server, server.base + "/__bare__/cart?read=session", args, cookies=cookies)))
    return len(cookies), real, bare, with_session


def _measured_load(server: _http.Gunicorn, url: str, args, headers: dict | None = None,
                   cookies: list[str] | None = None):
    """One load measurement; with --cpu also the CPU milliseconds per request of the workers and of PostgreSQL."""
    if not args.cpu:
        return _http.load(url, args.duration, args.connections, headers=headers, cookies=cookies)
    pids = server.worker_pids()
    before = (_http.cpu_seconds(pids), _http.cpu_seconds(name="postgres"))
    res = _http.load(url, args.duration, args.connections, headers=headers, cookies=cookies)
    after = (_http.cpu_seconds(pids), _http.cpu_seconds(name="postgres"))
    n = max(1, res.requests)
    res.cpu_ms = tuple((a - b) * 1000 / n for a, b in zip(after, before))
    return res


def _cpu(res) -> str:
    cpu = getattr(res, "cpu_ms", None)
    # a process that ended during the run takes its time with it (a backend closing): never below 0
    return f"workers {max(0.0, cpu[0]):.2f} + PostgreSQL {max(0.0, cpu[1]):.2f} ms" if cpu else "-"


def mixed(env: dict, args, bare_dir: Path) -> tuple[list, dict]:
    """The mixed run: cold (fresh workers, empty cache), then warm (after one pass over every distinct path)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import cache

    paths = mixed_paths(args.mixed_urls, args.mixed_seed)
    distinct = sorted(set(paths))
    kinds = {k: sum(1 for p in paths if _kind(p) == k) for k in ("product", "category", "home", "search")}
    info = {"paths": len(paths), "distinct": len(distinct), "kinds": kinds}
    _clear_caches(cache)
    rows = []
    with _http.Gunicorn(env, workers=args.workers) as server:
        _http.fetch(server.base + "/healthz")
        rows.append(("mixed cold", _http.load(server.base + "/", args.duration, args.connections, paths=paths)))
        # Warm-up: passes over every distinct path until one pass is served (almost) entirely from the cache.
        # Each gunicorn worker keeps its own pages and a pass reaches a path through one worker only, so a single
        # pass would leave about half of the paths cold in each worker and the "warm" run would be half cold.
        t0 = time.perf_counter()
        info["warm_passes"], info["warm_hits"] = 0, 0.0
        while info["warm_passes"] < args.warm_passes:
            with ThreadPoolExecutor(args.warm_threads) as pool:
                got = list(pool.map(lambda p: _http.fetch_with_headers(server.base + p), distinct))
            info["warm_passes"] += 1
            info["warm_hits"] = sum(h.get("x-page-cache") == "hit" for _, h in got) / len(got)
            if info["warm_hits"] >= args.warm_until:
                break
        info["warm_s"] = time.perf_counter() - t0
        info["mean_bytes"] = sum(len(b) for b, _ in got) / len(got)
        rows.append(("mixed warm", _http.load(server.base + "/", args.duration, args.connections, paths=paths)))
        bare_paths = [f"/__bare__/{_kind(p)}" for p in paths]
        missing = {p for p in bare_paths if not (bare_dir / f"{p.rsplit('/', 1)[1]}.html").exists()}
        if not missing:
            rows.append(("bare mix", _http.load(server.base + "/", args.duration, args.connections,
                                                 paths=bare_paths)))
        info["rss"] = server.worker_rss_mb()
    return rows, info


def main(argv=None) -> None:
    args = parse(argv)
    bare_dir = Path(tempfile.mkdtemp(prefix="shop-bare-"))
    env = bench_env(args.database_url, REDIS_URL=args.redis_url, SHOP_EVENT_LOG=args.event_log,
                    CELERY_TASK_ALWAYS_EAGER="true", BENCH_BARE_DIR=str(bare_dir), DATABASE_CONN_MAX_AGE="60",
                    **({"SHOP_PAGE_CACHE_MB": str(args.page_cache_mb)} if args.page_cache_mb is not None else {}))
    seed(args, env)
    apply_env(env)
    os.environ["REDIS_URL"] = args.redis_url
    setup_django(migrate=False)
    wanted = args.pages.split(",")
    pages = {k: v for k, v in {**page_paths(), "cart": "/cart/"}.items() if k in wanted}
    headers = {"cart": cart_visitor()} if "cart" in pages else {}
    from django.conf import settings

    from shop.models import Product

    print(f"load generator: {_http.tool()} ({args.connections} connections"
          f"{', 2 threads' if _http.tool() == 'wrk' else ''}), {args.duration:.0f} s per measurement; "
          f"gunicorn {args.workers} sync workers; SHOP_EVENT_LOG={args.event_log}; cores: {os.cpu_count()}; "
          f"{Product.objects.filter(is_active=True).count()} active products; "
          f"SHOP_PAGE_CACHE_MB={settings.SHOP_PAGE_CACHE_MB}; "
          f"load average {os.getloadavg()[0]:.1f}")
    queries = count_queries(pages, headers)
    with _http.Gunicorn(env, workers=args.workers) as server:
        rows = measure(server, pages, args, bare_dir, headers=headers)
        many = (measure_cart_visitors(server, args, cart_visitors(args.cart_visitors))
                if "cart" in pages and args.cart_visitors > 0 else None)
        rss = server.worker_rss_mb()
    mixed_rows, info = mixed(env, args, bare_dir) if args.mixed else ([], {})
    import redis

    redis.Redis.from_url(args.redis_url).delete("shop:events")
    print(f"\n{'page':<9} {'path':<34} {'bytes':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} | "
          f"{'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'page/bare':>9} {'queries':>8}")
    for name, path, size, real, bare in rows:
        print(f"{name:<9} {path:<34} {size:>7} {real.rps:>7.1f} {real.p50_ms:>7.1f} {real.p99_ms:>7.1f} | "
              f"{bare.rps:>10.1f} {bare.p50_ms:>7.1f} {bare.p99_ms:>7.1f} | {real.rps / bare.rps:>9.2f} "
              f"{'%d/%d' % queries[name]:>8}"
              + (f"  errors {real.errors}/{bare.errors}" if real.errors or bare.errors else "")
              + (f"  rounds {', '.join(f'{x:.2f}' for x in sorted(real.rounds))}" if getattr(real, "rounds", None)
                 else ""))
    print("page/bare = page req/s divided by bare req/s (1.00 = the page costs no more than the framework); "
          "queries = first request after emptying the caches / the next one")
    for name, _, _, real, bare in rows:
        ws = getattr(real, "with_session", None)
        if ws is not None:
            rounds = getattr(real, "session_rounds", None)
            print(f"{name}: bare + the visitor's session read from the database (/__bare__/{name}?read=session, the "
                  f"one statement a {name} page makes when its process has not kept the session) {ws.rps:.1f} "
                  f"req/s, p99 {ws.p99_ms:.1f} ms = {ws.rps / bare.rps:.2f} of bare; "
                  f"page/that {real.rps / ws.rps:.2f}"
                  + (f" (rounds {', '.join(f'{x:.2f}' for x in sorted(rounds))})" if rounds else ""))
    if many:
        n, real, bare, ws = many
        print(f"cart of {n} visitors (each request the next one's own cart): {real.rps:.1f} req/s, p50 "
              f"{real.p50_ms:.1f} ms, p99 {real.p99_ms:.1f} ms = {real.rps / bare.rps:.2f} of bare "
              f"({bare.rps:.1f} req/s"
              + (f"; rounds {', '.join(f'{x:.2f}' for x in sorted(real.rounds))}" if getattr(real, "rounds", None)
                 else "") + ")"
              + (f"  errors {real.errors}" if real.errors else "")
              + f"; bare + each one's session read from the database {ws.rps / bare.rps:.2f} of bare")
    if args.cpu:
        print("CPU per request (the median round; PostgreSQL: all its processes):")
        for name, _, _, real, bare in rows:
            ws = getattr(real, "with_session", None)
            print(f"  {name:<9} page {_cpu(real)} | bare {_cpu(bare)}"
                  + (f" | bare + session read {_cpu(ws)}" if ws is not None else ""))
        if many:
            print(f"  cart of {many[0]} visitors: page {_cpu(many[1])} | bare + their session reads {_cpu(many[3])}")
    print(f"worker memory after the page runs: {', '.join(f'{m:.0f}' for m in rss)} MB")
    if mixed_rows:
        bare_mix = dict(mixed_rows).get("bare mix")
        print(f"\nmixed run: {info['paths']} paths ({info['distinct']} distinct; "
              + ", ".join(f"{v} {k}" for k, v in info["kinds"].items())
              + f"), mean page {info['mean_bytes'] / 1000:.1f} kB; warm-up {info['warm_passes']} passes over the "
                f"distinct paths in {info['warm_s']:.0f} s, the last one {info['warm_hits']:.1%} from the page cache")
        print(f"{'run':<11} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} | {'/bare':>6}")
        for name, res in mixed_rows:
            print(f"{name:<11} {res.rps:>7.1f} {res.p50_ms:>7.1f} {res.p99_ms:>7.1f} | "
                  f"{res.rps / bare_mix.rps if bare_mix else float('nan'):>6.2f}"
                  + (f"  errors {res.errors}" if res.errors else ""))
        print(f"worker memory after the mixed runs: {', '.join(f'{m:.0f}' for m in info['rss'])} MB")


if __name__ == "__main__":
    main()
