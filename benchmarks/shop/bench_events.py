#!/usr/bin/env python
"""The storefront event log: events per second through shop.events, and what logging costs a product page.

Part 1, in-process on PostgreSQL (+ Redis db --redis-url):
  direct, per request   dispatch() of 1 event with SHOP_EVENT_LOG=direct: one INSERT per page view
  buffer, per request   dispatch() of 1 event with SHOP_EVENT_LOG=buffer: one RPUSH per page view
  buffer flush          events.flush_buffer(): LPOP 5000 + one bulk INSERT per batch (the beat task)
  direct bulk           events.write() of --bulk events at once
Part 2, over HTTP: the product page under wrk (or the Python client) with SHOP_EVENT_LOG=off, buffer and direct,
one gunicorn each, same database; latency ratio logging on / off. (With buffer, no flush runs during the load:
the beat task's cost lands on the worker, not on the page.)

Uses the demo database of bench_pages.py (seeded here, small, if missing). The events it inserts are deleted
at the end (session_key 'bench-events'), and only the shop:events key of the Redis db is touched.

    nice python benchmarks/shop/bench_events.py
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop import _http  # noqa: E402
from benchmarks.shop._common import apply_env, bench_env, check_loopback, setup_django  # noqa: E402
from benchmarks.shop.bench_pages import DEFAULT_DB, page_paths, seed  # noqa: E402

MARK = "bench-events"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_DB, help="PostgreSQL on 127.0.0.1 (default %(default)s)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    p.add_argument("--per-request", type=int, default=3000, help="single-event dispatches per mode")
    p.add_argument("--bulk", type=int, default=50000, help="events in the bulk write and the flush")
    p.add_argument("--duration", type=float, default=10, help="seconds of load per mode (part 2)")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    check_loopback(args.database_url)
    check_loopback(args.redis_url)
    return args


def main() -> None:
    args = parse()
    env = bench_env(args.database_url, REDIS_URL=args.redis_url, SHOP_EVENT_LOG="buffer",
                    BENCH_BARE_DIR=tempfile.mkdtemp(prefix="shop-bare-"))
    seed(argparse.Namespace(database_url=args.database_url, reseed=False, products=60, customers=300, days=180),
         env)
    apply_env(env)
    os.environ["REDIS_URL"] = args.redis_url
    setup_django(migrate=False)

    from django.conf import settings

    from shop import events
    from shop.models import Event, Product

    ids = list(Product.objects.values_list("pk", flat=True))
    r = events.redis_client()
    r.delete(events.BUFFER_KEY)

    def record(k: int) -> dict:
        return {"kind": Event.Kind.VIEW, "at": datetime.now(timezone.utc).isoformat(), "session_key": MARK,
                "user_id": None, "product_id": ids[k % len(ids)], "quantity": 1, "source": "direct", "query": ""}

    print(f"part 1: shop.events in-process, PostgreSQL {args.database_url.rsplit('/', 1)[-1]}, Redis {args.redis_url}")
    rows = []
    settings.SHOP_EVENT_LOG = "direct"
    t0 = time.perf_counter()
    for k in range(args.per_request):
        events.dispatch([record(k)])
    rows.append(("direct, per request (1 INSERT each)", args.per_request, time.perf_counter() - t0))

    settings.SHOP_EVENT_LOG = "buffer"
    n_buf = args.per_request * 5
    t0 = time.perf_counter()
    for k in range(n_buf):
        events.dispatch([record(k)])
    rows.append(("buffer, per request (1 RPUSH each)", n_buf, time.perf_counter() - t0))
    batch = [__import__("json").dumps(record(k)) for k in range(args.bulk - n_buf)]
    for i in range(0, len(batch), 5000):
        r.rpush(events.BUFFER_KEY, *batch[i:i + 5000])
    queued = r.llen(events.BUFFER_KEY)
    t0 = time.perf_counter()
    flushed = events.flush_buffer()
    rows.append(("buffer flush (LPOP 5000 + bulk INSERT)", flushed, time.perf_counter() - t0))
    assert flushed == queued, (flushed, queued)

    records = [record(k) for k in range(args.bulk)]
    t0 = time.perf_counter()
    events.write(records)
    rows.append(("direct bulk write (bulk_create 2000/batch)", args.bulk, time.perf_counter() - t0))
    for name, n, secs in rows:
        print(f"  {name:<44} {n:>7} events {secs:>7.2f} s {n / secs:>10,.0f} events/s")
    deleted, _ = Event.objects.filter(session_key=MARK).delete()
    print(f"  (removed {deleted} benchmark events)")

    path = page_paths()["product"]
    print(f"\npart 2: {path} with each SHOP_EVENT_LOG mode; load generator {_http.tool()}, "
          f"{args.connections} connections, {args.duration:.0f} s each, gunicorn {args.workers} sync workers")
    results = {}
    last = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for mode in ("off", "buffer", "direct"):
        with _http.Gunicorn({**env, "SHOP_EVENT_LOG": mode}, workers=args.workers) as server:
            for _ in range(20):
                _http.fetch(server.base + path)
            results[mode] = _http.load(server.base + path, args.duration, args.connections)
    buffered = r.llen(events.BUFFER_KEY)
    r.delete(events.BUFFER_KEY)
    direct_rows, _ = Event.objects.filter(pk__gt=last).delete()
    off = results["off"]
    print(f"  {'mode':<8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p50 on/off':>10} {'p99 on/off':>10} "
          f"{'req/s on/off':>12}")
    for mode, res in results.items():
        print(f"  {mode:<8} {res.rps:>7.1f} {res.p50_ms:>7.1f} {res.p99_ms:>7.1f} {res.p50_ms / off.p50_ms:>10.2f} "
              f"{res.p99_ms / off.p99_ms:>10.2f} {res.rps / off.rps:>12.2f}"
              + (f"  errors {res.errors}" if res.errors else ""))
    print(f"  events queued in Redis by the buffer run: {buffered} (deleted); rows inserted by the direct run: "
          f"{direct_rows} (deleted)")


if __name__ == "__main__":
    main()
