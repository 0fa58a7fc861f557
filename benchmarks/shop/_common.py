"""Shared set-up for the shop benchmarks: environment, PostgreSQL database creation, Django set-up, timing.

Benchmarks are run by hand (never in CI) and talk only to 127.0.0.1.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/shop_bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def check_loopback(url: str) -> None:
    host = urlparse(url).hostname
    if url.startswith("postgres") and unquote(host or "").startswith("/"):
        return  # a Unix socket's directory: this machine's server
    if url.startswith("postgres") and host not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"benchmarks only talk to 127.0.0.1, not {host}")
    if url.startswith("redis") and host not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"benchmarks only talk to 127.0.0.1, not {host}")


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for a local-mode shop on this database: no Redis unless given, eager tasks, quiet email."""
    check_loopback(database_url)
    var = Path(tempfile.gettempdir()) / "shop-bench-var"
    env = {
        "SHOP_ENV": "local", "DEBUG": "false", "DATABASE_URL": database_url, "SHOP_EVENT_LOG": "off",
        "SHOP_VAR_DIR": str(var), "MEDIA_ROOT": str(var / "media"), "STATIC_ROOT": str(var / "static"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "true", "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.update(extra)
    return env


def apply_env(env: dict[str, str]) -> None:
    for key in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        os.environ.pop(key, None)
    os.environ.update(env)


def ensure_database(url: str, fresh: bool = False) -> None:
    """Create the PostgreSQL database of `url` if missing (drop it first with fresh=True)."""
    import psycopg

    check_loopback(url)
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(migrate: bool = True) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
