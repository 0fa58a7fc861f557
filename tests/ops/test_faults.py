"""Faults, with the real processes: gunicorn serving the shop while Redis refuses connections or hangs (accepts and
never answers). The product page, a whole guest checkout and /readyz must answer, and the order email must go
out once a worker runs again. And PostgreSQL dropping the web's kept connections (a restart, an operator): the next
pages answer, the cart intact."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import requests

from shop.models import Event, Order, OutboxEmail, Product
from django.db import connection

from tests.conftest import ADDRESS, ROOT, db_env, free_port, start_celery_worker, wait_for_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TIMEOUT = 15  # seconds a request may take before the test calls the page hung (gunicorn's own timeout is 30)


def _gunicorn(env, proc_cleanup):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
                             "--timeout", "30"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    proc_cleanup.append(proc)
    wait_for_port(port, proc)
    return f"http://127.0.0.1:{port}"


def _csrf(session, base, path):
    r = session.get(base + path, timeout=TIMEOUT)
    assert r.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text).group(1)


@pytest.mark.parametrize("down", ["refused", "hung"])
def test_checkout_product_page_and_readyz_with_redis_down(down, make_product, refused_redis, hung_redis,
                                                         proc_cleanup, tmp_path):
    redis_url = refused_redis if down == "refused" else hung_redis.url
    product = make_product(name="Fault Lamp", stock=3)
    mail_dir = tmp_path / "mail"
    env = db_env()
    env.update(REDIS_URL=redis_url, CELERY_TASK_ALWAYS_EAGER="false", SHOP_EVENT_LOG="buffer", REDIS_TIMEOUT="0.5",
               EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(mail_dir))
    base = _gunicorn(env, proc_cleanup)
    s = requests.Session()

    r = s.get(base + "/readyz", timeout=TIMEOUT)
    assert r.status_code == 503 and r.json()["problems"]["redis"] in {"ConnectionError", "TimeoutError"}

    token = _csrf(s, base, f"/p/{product.slug}/")  # the product page
    r = s.post(base + f"/cart/add/{product.pk}/", {"quantity": "1", "csrfmiddlewaretoken": token},
               timeout=TIMEOUT, allow_redirects=False)
    assert r.status_code == 302
    token = _csrf(s, base, "/checkout/")
    r = s.post(base + "/checkout/", {**ADDRESS, "email": "fault@example.com", "payment_method": "cod",
                                     "csrfmiddlewaretoken": token}, timeout=TIMEOUT, allow_redirects=False)
    assert r.status_code == 302 and "/confirmation/" in r.headers["Location"], r.text[:500]
    page = s.get(base + r.headers["Location"], timeout=TIMEOUT)
    order = Order.objects.get()
    assert page.status_code == 200 and order.number in page.text  # the guest sees the order number

    assert Product.objects.get(pk=product.pk).stock == 2
    # events went to the database instead: the process's shipper hands them over in the background, at most a
    # second after their request plus Redis's timeout (shop.events), so they may land after the checkout's replies
    deadline = time.monotonic() + 10
    while not Event.objects.filter(product=product, kind="view").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Event.objects.filter(product=product, kind="view").exists()
    email = OutboxEmail.objects.get()
    assert email.sent_at is None and not mail_dir.exists()  # waiting, not lost
    if down == "hung":
        # /readyz asked Redis once; after that failure the process left Redis alone (no second connection).
        assert hung_redis.accepted <= 2

    # Redis is back: a worker starts against it (on a queue of its own) and sends the waiting email, once.
    worker = start_celery_worker(f"faults-{os.getpid()}-{time.time_ns()}", EMAIL_FILE_PATH=str(mail_dir),
                                 EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend")
    proc_cleanup.append(worker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and OutboxEmail.objects.filter(sent_at=None).exists():
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.25)
    files = list(mail_dir.iterdir()) if mail_dir.exists() else []
    assert len(files) == 1 and order.number in files[0].read_text()


def test_pages_and_the_cart_survive_postgresql_dropping_the_webs_connections(make_product, proc_cleanup):
    product = make_product(name="Fault Mug", stock=5)
    env = db_env()
    env["DATABASE_CONN_MAX_AGE"] = "600"  # kept connections, as in production
    base = _gunicorn(env, proc_cleanup)
    s = requests.Session()
    token = _csrf(s, base, f"/p/{product.slug}/")
    r = s.post(base + f"/cart/add/{product.pk}/", {"quantity": "2", "csrfmiddlewaretoken": token},
               timeout=TIMEOUT, allow_redirects=False)
    assert r.status_code == 302
    assert 'id="cart-count">2<' in s.get(base + "/cart/", timeout=TIMEOUT).text

    with connection.cursor() as cur:  # every connection to the test database but this test's own
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert cur.fetchone()[0] >= 1
    time.sleep(0.2)
    for path in ("/cart/", f"/p/{product.slug}/", "/"):
        r = s.get(base + path, timeout=TIMEOUT)
        assert r.status_code == 200 and 'id="cart-count">2<' in r.text, (path, r.status_code)
    assert "Fault Mug" in s.get(base + "/cart/", timeout=TIMEOUT).text
