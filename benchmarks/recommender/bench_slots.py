#!/usr/bin/env python
"""Pages with the recommendation slots on and off, under gunicorn, in the same run: requests/s and the ratio.

Seeds a PostgreSQL database with the demo shop (once), trains and publishes the recommender on it (once, the real
pipeline: manage.py train_recommender --inline), then starts two gunicorn servers (sync workers) on 127.0.0.1 from
the same code and database: one with the slots (RECOMMENDER_SLOTS=true), one without (false). Each page is loaded
with Debian's `wrk` (else a Python keep-alive client) alternately off, on, off, on ... (--rounds), --duration
seconds each, so drift of the shared machine hits both alike; the figure is on/off of the mean req/s.

Pages (all in the model arm of the A/B split, events logged to Redis as in production):
  home-visitor    "/" for a visitor whose session viewed three products (list built from their related rows)
  home-customer   "/" for a signed-in customer with published rows
  product         a product page ("Customers also bought")

    nice python benchmarks/recommender/bench_slots.py                 # seed + train once (~10 min), then ~2 min
    nice python benchmarks/recommender/bench_slots.py --small         # 60 products, 300 customers, 180 days
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop import _http  # noqa: E402
from benchmarks.shop._common import ROOT, apply_env, bench_env, check_loopback, ensure_database, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop_bench_recs"


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_DB, help="PostgreSQL on 127.0.0.1 (default %(default)s)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/8", help="Redis for the event buffer")
    p.add_argument("--small", action="store_true", help="seed 60 products, 300 customers, 180 days")
    p.add_argument("--reseed", action="store_true", help="drop, seed and train again")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    p.add_argument("--rounds", type=int, default=3, help="off/on pairs per page")
    p.add_argument("--pages", default="home-visitor,home-customer,product", help="comma-separated subset")
    args = p.parse_args(argv)
    check_loopback(args.database_url)
    check_loopback(args.redis_url)
    return args


def prepare(args, env: dict[str, str]) -> None:
    """Demo shop and a live publication, made once (kept in the database for the next run)."""
    ensure_database(args.database_url, fresh=args.reseed)
    full = {**os.environ, **env}

    def manage(*cmd, **kw):
        return subprocess.run([sys.executable, "manage.py", *cmd], cwd=ROOT, env=full, check=True, **kw)

    manage("migrate", "--noinput", "-v0")
    size = ["--products", "60", "--customers", "300", "--days", "180"] if args.small else []
    out = manage("seed_demo", "--if-empty", *size, capture_output=True, text=True)
    print("seed:", out.stdout.strip().splitlines()[-1])
    t0 = time.perf_counter()
    out = manage("train_recommender", "--if-missing", "--inline", capture_output=True, text=True)
    print("train:", out.stdout.strip().splitlines()[-1], f"({time.perf_counter() - t0:.0f} s)")
    out = manage("publish_recommendations", capture_output=True, text=True)  # today's rows, if not yet
    print("publish:", out.stdout.strip().splitlines()[-1])


def scenario() -> dict:
    """Cookies of the three pages: a visitor in the model arm with three viewed products, a signed-in customer."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from shop.sessions import SessionStore

    from recommender import experiment
    from recommender.models import CustomerRecommendation, ProductRecommendation, Publication
    from shop.models import Product

    pub = Publication.objects.filter(status="live").first()
    if pub is None:
        raise SystemExit("no live recommendations: the training run was rejected or failed (see manage.py "
                         "recommender_status)")
    vid = next(v for v in iter(lambda: secrets.token_hex(16), None) if experiment.arm(v) == experiment.MODEL)
    sources = list(ProductRecommendation.objects.filter(publication=pub).values_list("source_id", flat=True)
                   .distinct().order_by("source_id")[:3])
    product = Product.objects.filter(pk=sources[0]).get()
    user = get_user_model().objects.get(pk=CustomerRecommendation.objects.filter(publication=pub)
                                        .order_by("user_id").values_list("user_id", flat=True).first())
    session = SessionStore()
    session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    visitor = f"vid={vid}; recent={'.'.join(map(str, sources))}"
    return {
        "home-visitor": ("/", visitor, "recs-home"),
        "home-customer": ("/", f"vid={vid}; {settings.SESSION_COOKIE_NAME}={session.session_key}", "recs-home"),
        "product": (product.get_absolute_url(), f"vid={vid}", "recs-product"),
    }


def check(server, path, cookie, marker, present: bool) -> None:
    import urllib.request

    req = urllib.request.Request(server.base + path, headers={"Cookie": cookie})
    body = urllib.request.urlopen(req, timeout=30).read().decode()
    if (f'id="{marker}"' in body) != present:
        raise SystemExit(f"{path}: the slot is {'missing' if present else 'shown'} with the slots "
                         f"{'on' if present else 'off'}")


def main(argv=None) -> None:
    args = parse(argv)
    env = bench_env(args.database_url, REDIS_URL=args.redis_url, SHOP_EVENT_LOG="buffer",
                    CELERY_TASK_ALWAYS_EAGER="true", DATABASE_CONN_MAX_AGE="60")
    prepare(args, env)
    apply_env(env)
    os.environ["REDIS_URL"] = args.redis_url
    setup_django(migrate=False)
    pages = {k: v for k, v in scenario().items() if k in args.pages.split(",")}
    print(f"load generator: {_http.tool()} ({args.connections} connections), {args.duration:.0f} s per "
          f"measurement, {args.rounds} off/on pairs per page; gunicorn {args.workers} sync workers per server; "
          f"SHOP_EVENT_LOG=buffer; cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")
    results = {}
    with _http.Gunicorn({**env, "RECOMMENDER_SLOTS": "false"}, workers=args.workers) as off, \
            _http.Gunicorn({**env, "RECOMMENDER_SLOTS": "true"}, workers=args.workers) as on:
        for name, (path, cookie, marker) in pages.items():
            check(on, path, cookie, marker, True)
            check(off, path, cookie, marker, False)
            headers = {"Cookie": cookie}
            for server in (off, on):
                _http.load(server.base + path, 2, args.connections, headers=headers)  # warm both
            runs = {"off": [], "on": []}
            for _ in range(args.rounds):
                for label, server in (("off", off), ("on", on)):
                    runs[label].append(_http.load(server.base + path, args.duration, args.connections,
                                                  headers=headers))
            results[name] = runs
    import redis

    redis.Redis.from_url(args.redis_url).delete("shop:events")
    print(f"\n{'page':<14} {'off req/s':>10} {'on req/s':>10} {'on/off':>7} {'off p50':>8} {'on p50':>8} "
          f"{'off p99':>8} {'on p99':>8}   rounds (off/on req/s)")
    for name, runs in results.items():
        off_rps = statistics.mean(r.rps for r in runs["off"])
        on_rps = statistics.mean(r.rps for r in runs["on"])
        p = lambda rs, attr: statistics.median(getattr(r, attr) for r in rs)  # noqa: E731
        rounds = ", ".join(f"{a.rps:.0f}/{b.rps:.0f}" for a, b in zip(runs["off"], runs["on"]))
        errors = sum(r.errors for rs in runs.values() for r in rs)
        print(f"{name:<14} {off_rps:>10.1f} {on_rps:>10.1f} {on_rps / off_rps:>7.2f} {p(runs['off'], 'p50_ms'):>8.1f}"
              f" {p(runs['on'], 'p50_ms'):>8.1f} {p(runs['off'], 'p99_ms'):>8.1f} {p(runs['on'], 'p99_ms'):>8.1f}"
              f"   {rounds}" + (f"  errors {errors}" if errors else ""))
    print("on/off = mean req/s with the slots / without, over the rounds (the bar: at least 0.90)")


if __name__ == "__main__":
    main()
