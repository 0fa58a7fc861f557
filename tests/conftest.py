"""Shared fixtures. The test command (scripts/test.sh) points DATABASE_URL at the local PostgreSQL and REDIS_URL at
the local Redis; pytest-django creates and drops the test database."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def db_env() -> dict[str, str]:
    """Environment for a subprocess (gunicorn, a Celery worker) that must use the test database."""
    from django.db import connection

    s = connection.settings_dict
    url = f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env["DATABASE_CONN_MAX_AGE"] = "0"
    return env


@pytest.fixture
def proc_cleanup():
    """A list to append started processes to; each is stopped (TERM, then KILL) at the end of the test."""
    procs = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def start_celery_worker(queue: str, **env_extra) -> subprocess.Popen:
    """A real Celery worker process (solo pool) on the test database, consuming only ``queue``."""
    from django.conf import settings

    env = db_env()
    env.update(CELERY_TASK_ALWAYS_EAGER="false", MEDIA_ROOT=str(settings.MEDIA_ROOT), **env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue, "--loglevel=INFO",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@contextlib.contextmanager
def celery_worker(procs: list, **env_extra):
    """Start a worker on a queue of its own and send this process's tasks there (not eagerly) meanwhile."""
    from config.celery import app

    queue = f"test-{os.getpid()}-{time.time_ns()}"
    worker = start_celery_worker(queue, **env_extra)
    procs.append(worker)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        yield worker
    finally:
        app.conf.task_always_eager = True
        app.conf.task_default_queue = "celery"


def png_bytes(colour=(200, 30, 30), size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def moto_server():
    """moto's S3 server in its own process (a real S3 endpoint over HTTP); its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def use_s3(settings, endpoint: str, bucket: str) -> None:
    """Point default_storage at a fresh bucket on ``endpoint`` (moto) for this test."""
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": bucket, "access_key": "test", "secret_key": "test",
                    "endpoint_url": endpoint, "region_name": "us-east-1", "querystring_auth": True,
                    "file_overwrite": False, "addressing_style": "path", "signature_version": "s3v4"}}}


def pages_not_kept(settings):
    """Pages are rendered (holes and all) but not kept: most tests change data behind the app's back and look at
    response.context. The page cache's own tests turn it on (tests/shop/test_page_cache.py), with changes made the
    way the shop makes them. Each test starts with nothing kept and no change counters known."""
    settings.SHOP_PAGE_CACHE = False
    settings.SHOP_CACHE_FRESHNESS_SECONDS = 3600  # one look per test: query counts do not depend on the clock
    from shop import pagecache, sessions, versions

    pagecache.clear_local()
    sessions.clear_recent()  # and no session kept from an earlier test (shop/sessions.py)
    versions.reset(empty=True)  # a test's database starts without counters
    yield
    pagecache.clear_local()
    sessions.clear_recent()
    versions.reset()


@pytest.fixture(autouse=True)
def _pages_not_kept(settings):
    yield from pages_not_kept(settings)


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SHOP_EVENT_LOG = "direct"
    settings.RECOMMENDER_READ_CACHE_SECONDS = 0  # slots look up the live recommendations on every request
    settings.SHOP_EVENT_BATCH_SECONDS = 0  # buffered events pushed in the request: tests look right after it
    from django.core.cache import cache

    cache.clear()  # no state (search vocabulary, throttle counts) leaks from one test into the next


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with empty throttle counters (the cache is this run's Redis database) and Redis not paused
    by an earlier test's simulated outage (shop.resilience)."""
    from django.core.cache import cache

    from shop import resilience

    resilience.recovered()
    resilience.reset_client()
    try:
        cache.clear()
    except Exception:  # noqa: BLE001 - a test that needs the cache will say so itself
        pass
    yield
    resilience.recovered()


@pytest.fixture
def make_product(db):
    from shop.models import Category, Product

    counter = {"n": 0}

    def make(name=None, price="10.00", stock=10, category=None, **kw):
        counter["n"] += 1
        n = counter["n"]
        if category is None:
            category, _ = Category.objects.get_or_create(slug="things", defaults={"name": "Things"})
        return Product.objects.create(
            name=name or f"Product {n}", slug=f"product-{n}-{os.getpid()}", sku=f"SKU-{n}", category=category,
            price=Decimal(price), stock=stock, description=kw.pop("description", f"A fine product number {n}."),
            **kw)

    return make


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "s3cret-pass-123")


@pytest.fixture
def other_user(db, django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "s3cret-pass-456")


ADDRESS = dict(full_name="Alice Example", address_line1="1 Main St", city="Berlin", postal_code="10115",
               country="DE")


@pytest.fixture
def buy(db):
    """Place an order for {product: qty} as `user` (or a guest)."""
    from shop import checkout
    from shop.models import Cart, CartLine

    def place(items: dict, user=None, email="buyer@example.com"):
        cart = Cart.objects.create()
        for product, qty in items.items():
            CartLine.objects.create(cart=cart, product=product, quantity=qty)
        return checkout.place_order(cart, email=email, user=user, address=checkout.Address(**ADDRESS))

    return place


class HungServer:
    """A TCP server that accepts connections and never answers (a hung Redis). `accepted` counts connections."""

    def __init__(self):
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.accepted = 0
        self.conns = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.conns.append(conn)  # held open, never read from or written to

    def close(self):
        self._stop = True
        self.thread.join(timeout=2)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def hung_redis():
    server = HungServer()
    yield server
    server.close()


@pytest.fixture
def refused_redis():
    """A Redis URL where nothing listens (connections are refused)."""
    return f"redis://127.0.0.1:{free_port()}/0"


def run_together(func, calls: list[tuple]) -> list:
    """Run func(*args) for each args in `calls`, one thread each, released at once by a barrier (real concurrency on
    PostgreSQL: each thread has its own connection, closed at the end). Returns each call's result or exception,
    in the order of `calls`."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, args):
        try:
            barrier.wait()
            results[i] = func(*args)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, args)) for i, args in enumerate(calls)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return results
