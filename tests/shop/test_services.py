"""Real servers: a Celery worker process, moto's S3 server, gunicorn."""
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.files.storage import default_storage

from shop import images
from tests.conftest import ROOT, celery_worker, db_env, free_port, png_bytes, use_s3, wait_for_port


@pytest.mark.django_db(transaction=True)
def test_order_confirmation_is_sent_by_a_real_celery_worker(make_product, buy, tmp_path, proc_cleanup, settings):
    mail_dir = tmp_path / "mail"
    with celery_worker(proc_cleanup, EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                       EMAIL_FILE_PATH=str(mail_dir)) as worker:
        order = buy({make_product(stock=2): 1}, email="dora@example.com")  # enqueued on commit
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (mail_dir.exists() and any(mail_dir.iterdir())):
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.25)
    files = list(mail_dir.iterdir()) if mail_dir.exists() else []
    assert files, "the worker did not send the confirmation email"
    text = files[0].read_text()
    assert order.number in text and "dora@example.com" in text


def test_product_image_on_s3_round_trips_through_its_signed_url(moto_server, settings, make_product):
    use_s3(settings, moto_server, "shop-media")
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
    # the first request loads the whole app: give a busy machine time
    with urllib.request.urlopen(base + "/readyz", timeout=60) as r:
        assert r.status == 200
    with urllib.request.urlopen(base + f"/p/{p.slug}/", timeout=10) as r:
        assert "Gunicorn Lamp" in r.read().decode()
    with urllib.request.urlopen(base + "/static/vendor/bootstrap/bootstrap.min.css", timeout=10) as r:
        assert r.status == 200  # whitenoise, with DEBUG off
