#!/usr/bin/env python
"""Where one storefront request spends its time: cProfile over N requests of each page, in-process, through the
same WSGI handler and middleware gunicorn calls (no network, no load generator).

For each page it prints the mean wall time of one request, the queries per request and the time inside the
database driver (round trips), the share of the time in a few buckets (SQL compilation and model instances,
template rendering, URL reversing, the shop's own code...), and the functions with the most own time. The
database is the one bench_pages.py seeded (shop_bench_pages; seed it first), events go to the Redis buffer as
in production (--redis-url, db 13 by default; the shop:events key is deleted afterwards).

    nice python benchmarks/shop/profile_pages.py                       # 200 requests per page, after 20 warm-up
    nice python benchmarks/shop/profile_pages.py --pages category -n 500 --top 40
    nice python benchmarks/shop/profile_pages.py --dump /tmp/prof     # also writes <page>.pstats (snakeviz etc.)
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop._common import apply_env, bench_env, check_loopback, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop_bench_pages"

# The cumulative buckets: (label, dotted path of a function); a bucket is that function's cumulative time (its
# callees included), so buckets overlap (the whole request contains them all).
BUCKETS = [
    ("database call (driver+server)", ("django.db.backends.utils.CursorWrapper._execute",
                                       "shop.sessions._read_prepared")),
    ("SQL compilation", "django.db.models.sql.compiler.SQLCompiler.as_sql"),
    ("model instances", "django.db.models.query.ModelIterable.__iter__"),
    ("prefetch_related", "django.db.models.query.prefetch_related_objects"),
    ("template rendering", "django.template.base.Template.render"),
    ("URL reversing", "django.urls.base.reverse"),
    ("redis calls", "redis.client.Redis.execute_command"),
    ("slots (shop.slots.render)", "shop.slots.render"),
    ("whole request (handler)", "django.core.handlers.base.BaseHandler.get_response"),
]


# Own time (a function's time less its callees') by where the code lives: these add up to the whole request.
AREAS = [
    ("database wait and driver", ("/psycopg/", "psycopg_binary", "shop/sessions.py:_read_prepared", "_socket",
                                  "select.", "{method 'poll'", "selectors.py")),
    ("ORM (query building, compiling, model instances)", ("/django/db/",)),
    ("templates (Django template engine, tags, filters)", ("/django/template/", "/django/templatetags/",
                                                          "/shop/templatetags/", "/django/utils/html.py",
                                                          "/django/utils/safestring.py", "/django/utils/text.py",
                                                          "/django/utils/formats.py", "/django/utils/numberformat.py")),
    ("URL reversing", ("/django/urls/",)),
    ("redis client", ("/redis/",)),
    ("shop, recommender, chatbot code", ("/shop/", "/recommender/", "/chatbot/")),
    ("middleware, request/response, sessions, auth", ("/django/core/", "/django/middleware/", "/django/http/",
                                                      "/django/contrib/", "/whitenoise/", "/axes/")),
]


def _area(filename: str) -> str:
    for label, needles in AREAS:
        if any(n in filename for n in needles):
            return label
    return "other (Python builtins, asgiref locals, copy, decimal...)"


def _own_time_by_area(raw: dict) -> dict[str, float]:
    """Own time per area. Builtins and generic helpers (getattr, copy, asgiref's locals...) have no area of their
    own: their time goes to the areas of their callers, in proportion to the time spent from each caller (up to
    four levels up)."""
    def where(key, share, depth, out):
        filename, _, fn = key
        area = _area(f"{filename}:{fn}")
        callers = raw.get(key, (0, 0, 0, 0, {}))[4]
        if not area.startswith("other") or depth == 4 or not callers:
            out[area] = out.get(area, 0.0) + share
            return
        total = sum(edge[2] for edge in callers.values()) or 1.0
        for caller, edge in callers.items():
            where(caller, share * edge[2] / total, depth + 1, out)

    own: dict[str, float] = {}
    for key, v in raw.items():
        where(key, v[2], 0, own)
    return own


def _bucket(stats: pstats.Stats, dotted: str | tuple[str, ...]) -> tuple[int, float]:
    """Calls and cumulative seconds of a function (or the sum over several)."""
    calls = seconds = 0
    for one in (dotted,) if isinstance(dotted, str) else dotted:
        entry = stats.stats.get(_code_key(one), (0, 0, 0, 0))
        calls, seconds = calls + entry[1], seconds + entry[3]
    return calls, seconds


def _code_key(dotted: str):
    """(filename, first line, name) of a function, as cProfile keys it."""
    import importlib
    import inspect

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        obj = inspect.unwrap(obj)
        code = obj.__code__
        return code.co_filename, code.co_firstlineno, code.co_name
    raise ImportError(dotted)


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_DB, help="seeded PostgreSQL on 127.0.0.1 (%(default)s)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    p.add_argument("--pages", default="home,category,product,search,cart", help="comma-separated subset")
    p.add_argument("-n", "--requests", type=int, default=200, help="profiled requests per page")
    p.add_argument("--warm", type=int, default=20, help="unprofiled requests first")
    p.add_argument("--top", type=int, default=25, help="functions listed per page (by own time)")
    p.add_argument("--dump", type=Path, help="folder for <page>.pstats files")
    p.add_argument("--cookie", default="", help="Cookie header sent with every request")
    args = p.parse_args(argv)
    check_loopback(args.database_url)
    check_loopback(args.redis_url)
    return args


def main(argv=None) -> None:
    args = parse(argv)
    env = bench_env(args.database_url, REDIS_URL=args.redis_url, SHOP_EVENT_LOG="buffer",
                    CELERY_TASK_ALWAYS_EAGER="true", DATABASE_CONN_MAX_AGE="60")
    apply_env(env)
    os.environ["REDIS_URL"] = args.redis_url
    setup_django(migrate=False)
    from django.core.handlers.wsgi import WSGIHandler

    from benchmarks.shop.bench_pages import cart_visitor, page_paths

    app = WSGIHandler()
    paths = {**page_paths(), "cart": "/cart/"}
    wanted = [p for p in args.pages.split(",") if p in paths]
    cookies = {"cart": cart_visitor()["Cookie"]} if "cart" in wanted else {}

    def request(path: str, cookie: str = "") -> bytes:
        url, _, query = path.partition("?")
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": url, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
                   "wsgi.errors": sys.stderr, "HTTP_HOST": "127.0.0.1"}
        if cookie or args.cookie:
            environ["HTTP_COOKIE"] = cookie or args.cookie
        status = []
        body = b"".join(app(environ, lambda s, h, exc=None: status.append(s)))
        if not status[0].startswith("200"):
            raise SystemExit(f"{path}: {status[0]}")
        return body

    print(f"database {args.database_url}; {args.requests} requests per page after {args.warm} warm-up; "
          f"load average {os.getloadavg()[0]:.1f}")
    for name in wanted:
        path, cookie = paths[name], cookies.get(name, "")
        for _ in range(args.warm):
            body = request(path, cookie)
        # no execute_wrapper: with one installed, shop.sessions reads through Django's cursor instead of its
        # prepared statement; the queries are counted from the profile (BUCKETS' database calls)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for _ in range(args.requests):
            request(path, cookie)
        prof.disable()
        wall = (time.perf_counter() - t0) / args.requests
        t0 = time.perf_counter()  # the same requests without the profiler, for the real per-request time
        for _ in range(args.requests):
            request(path, cookie)
        plain = (time.perf_counter() - t0) / args.requests
        stats = pstats.Stats(prof)
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            stats.dump_stats(args.dump / f"{name}.pstats")
        total = wall * args.requests
        db_calls, db_time = _bucket(stats, BUCKETS[0][1])
        print(f"\n=== {name} {path}  ({len(body)} bytes)")
        print(f"one request: {plain * 1000:.2f} ms without the profiler ({wall * 1000:.2f} ms with); "
              f"{db_calls / args.requests:.1f} queries, {db_time / args.requests * 1000:.2f} ms in the database "
              f"call (driver + server)")
        for label, dotted in BUCKETS:
            cum = _bucket(stats, dotted)[1]
            print(f"  {label:<28} {cum / args.requests * 1000:7.2f} ms  {cum / total * 100:5.1f} %")
        own = _own_time_by_area(stats.stats)
        print("  own time by area (adds up to the request):")
        for where, t in sorted(own.items(), key=lambda kv: -kv[1]):
            print(f"    {where:<50} {t / args.requests * 1000:7.2f} ms  {t / total * 100:5.1f} %")
        if args.top:
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
            lines = out.getvalue().splitlines()
            start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
            print("\n".join(lines[start:start + args.top + 1]))
    import redis

    redis.Redis.from_url(args.redis_url).delete("shop:events")


if __name__ == "__main__":
    main()
