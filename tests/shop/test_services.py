"""Real servers: a Celery worker process, moto's S3 server, gunicorn."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from shop import images
from tests.conftest import ADDRESS, ROOT, db_env, free_port, png_bytes, wait_for_port


@pytest.fixture
def proc_cleanup():
    procs = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.django_db(transaction=True)
def test_order_confirmation_is_sent_by_a_real_celery_worker(make_product, buy, tmp_path, proc_cleanup, settings):
    from config.celery import app

    mail_dir = tmp_path / "mail"
    env = db_env()
    env.update(CELERY_TASK_ALWAYS_EAGER="false", EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
               EMAIL_FILE_PATH=str(mail_dir))
    queue = f"test-{os.getpid()}-{time.time_ns()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue, "--loglevel=INFO",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc_cleanup.append(worker)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        order = buy({make_product(stock=2): 1}, email="dora@example.com")  # enqueued on commit
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (mail_dir.exists() and any(mail_dir.iterdir())):
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.25)
    finally:
        app.conf.task_always_eager = True
        app.conf.task_default_queue = "celery"
    files = list(mail_dir.iterdir()) if mail_dir.exists() else []
    assert files, "the worker did not send the confirmation email"
    text = files[0].read_text()
    assert order.number in text and "dora@example.com" in text


@pytest.fixture(scope="session")
def moto_server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_product_image_on_s3_round_trips_through_its_signed_url(moto_server, settings, make_product):
    import boto3

    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket="shop-media")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "shop-media", "access_key": "test", "secret_key": "test",
                    "endpoint_url": moto_server, "region_name": "us-east-1", "querystring_auth": True,
                    "file_overwrite": False, "addressing_style": "path", "signature_version": "s3v4"}}}
    assert default_storage.__class__.__name__ == "S3Storage"
    product = make_product()
    data = png_bytes((10, 200, 10), (300, 200))
    pi = images.add_product_image(product, data, "green.png")
    url = pi.image.url
    assert url.startswith(moto_server) and "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == data
    with urllib.request.urlopen(pi.thumb_url, timeout=10) as r:
        assert r.read()[:3] == b"\xff\xd8\xff"  # a JPEG thumbnail


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_shop(make_product, proc_cleanup):
    p = make_product(name="Gunicorn Lamp")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
        cwd=ROOT, env=db_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc_cleanup.append(proc)
    wait_for_port(port, proc)
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(base + "/readyz", timeout=10) as r:
        assert r.status == 200
    with urllib.request.urlopen(base + f"/p/{p.slug}/", timeout=10) as r:
        assert "Gunicorn Lamp" in r.read().decode()
    with urllib.request.urlopen(base + "/static/vendor/bootstrap/bootstrap.min.css", timeout=10) as r:
        assert r.status == 200  # whitenoise, with DEBUG off
