"""Training runs end to end on PostgreSQL: a real Celery worker trains, gates, promotes and publishes; a worse
candidate is rejected while the serving model keeps serving; kill -9 of the worker mid-training. Tiny configs."""
import json
import os
import re
import signal
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from forecasting import results, services, tasks
from forecasting.models import Forecast, ProductForecast, Publication
from registry import services as registry
from registry.models import ModelVersion, TrainingRun
from shop.models import Product
from tests.conftest import celery_worker

pytestmark = pytest.mark.slow

# Small and fast on CPU; the horizon stays 45 (the services force it).
TINY = {"image_arch": "resnet18", "image_size": 32, "window": 28, "epochs": 10, "patience": 10, "hidden": 8,
        "stride": 3, "val_stride": 7, "batch_size": 64, "fusion_width": 8, "fused_dim": 8, "word_dim": 8,
        "head_hidden": 16, "num_threads": 1, "lr": 3e-3, "pinball_weight": 0.3}
SLOW = {**TINY, "epochs": 200, "patience": 200}   # long enough to be killed mid-way


@pytest.fixture
def small_shop(db, settings, tmp_path):
    settings.FORECAST_ENGINE_CONFIG = TINY
    settings.ML_CACHE_DIR = tmp_path / "ml-cache"
    call_command("seed_demo", products=12, customers=500, days=200, seed=3, stdout=open(os.devnull, "w"))
    return list(Product.objects.order_by("pk"))


def wait_for(predicate, timeout, worker=None, every=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"the worker exited: {worker.stdout.read()[-3000:]}")
        time.sleep(every)
    raise AssertionError("timed out")


def worker_env(config=TINY, **extra):
    from django.conf import settings

    return dict(FORECAST_ENGINE_CONFIG=json.dumps(config), ML_CACHE_DIR=str(settings.ML_CACHE_DIR),
                REGISTRY_HEARTBEAT_SECONDS="1", **extra)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_trains_gates_promotes_and_publishes(small_shop, client, django_user_model, proc_cleanup):
    with celery_worker(proc_cleanup, **worker_env()) as worker:
        run = tasks.request_training(trigger=TrainingRun.Trigger.MANUAL)
        run = wait_for(lambda: TrainingRun.objects.filter(pk=run.pk).exclude(status__in=["queued", "running"])
                       .first(), 300, worker)
    assert run.status == "succeeded", run.error + run.log_tail
    assert run.worker_pid != os.getpid() and run.device == "cpu" and run.losses and run.progress == 1.0
    version = results.serving_version()
    assert version.run_id == run.pk and "beats the seasonal naive" in version.reason
    gate = version.metrics["gate"]
    assert gate["scores"]["candidate"]["WAPE"] < gate["scores"]["snaive"]["WAPE"]
    assert gate["days"] == 45 and gate["end"] == str(timezone.localdate() - timedelta(days=1))
    assert version.artifact_sha256 and registry.load_artifact(version)
    pub = Publication.objects.get(status="live")
    active = [p for p in small_shop if p.is_active]
    assert pub.version == version and pub.n_products == len(active) and pub.first_day == timezone.localdate()
    assert Forecast.objects.filter(publication=pub).count() == len(active) * 45
    # the manager's product page shows the numbers of the rows
    admin = django_user_model.objects.create_superuser("boss", "b@example.com", "a-Long-pass-9876")
    client.force_login(admin)
    product = active[0]
    html = client.get(reverse("admin:forecasting_product", args=[product.pk])).content.decode()
    rows = list(Forecast.objects.filter(publication=pub, product=product).order_by("date"))
    cells = re.findall(r"<tr[^>]*><td>[^<]+</td><td>([\d.]+)</td><td>([\d.]+)</td><td>([\d.]+)</td>",
                       html[html.index('id="forecast-table"'):])
    assert [tuple(map(float, c)) for c in cells] == [(round(r.p10, 2), round(r.p50, 2), round(r.p90, 2))
                                                    for r in rows]
    s = ProductForecast.objects.get(publication=pub, product=product)
    assert f'id="sum-units">{s.units:.0f}<' in html and f'id="sum-reorder">{s.reorder_qty}<' in html


@pytest.mark.django_db(transaction=True)
def test_a_worse_candidate_is_rejected_and_the_serving_model_keeps_serving(small_shop, settings):
    first = registry.start_run("forecast", trigger="command")
    assert "promoted" in services.execute_run(first.pk)
    serving = results.serving_version()
    before = {p.product_id: p.units for p in ProductForecast.objects.filter(publication__status="live")}
    # a candidate that learns nothing (learning rate ~0) forecasts next to nothing: rejected
    second = registry.start_run("forecast", trigger="command", config={"lr": 1e-12})
    outcome = services.execute_run(second.pk)
    assert "rejected" in outcome and "keeps serving" in outcome
    candidate = ModelVersion.objects.get(run=second)
    assert candidate.status == "rejected" and "off by" in candidate.reason
    assert results.serving_version() == serving
    live = Publication.objects.get(status="live")
    assert live.version == serving  # republished from yesterday with the serving model
    after = {p.product_id: p.units for p in ProductForecast.objects.filter(publication=live)}
    assert after == pytest.approx(before)
    assert TrainingRun.objects.get(pk=second.pk).status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_kill_9_mid_training_fails_the_run_and_the_next_run_succeeds(small_shop, settings, proc_cleanup):
    first = registry.start_run("forecast", trigger="command")
    services.execute_run(first.pk)
    serving = results.serving_version()
    live = Publication.objects.get(status="live")
    with celery_worker(proc_cleanup, **worker_env(SLOW)) as worker:
        run = tasks.request_training()
        wait_for(lambda: TrainingRun.objects.filter(pk=run.pk, epoch__gte=1).exists(), 300, worker)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert TrainingRun.objects.get(pk=run.pk).status == "running"  # nobody has noticed yet
    settings.REGISTRY_STALE_AFTER_SECONDS = 3600  # the dead process is noticed, not a timeout
    assert registry.fail_stale_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed" and "gone" in run.error
    assert results.serving_version() == serving and Publication.objects.get(status="live") == live
    assert not ModelVersion.objects.filter(run=run).exclude(status="failed").exists()
    with celery_worker(proc_cleanup, **worker_env()) as worker:
        again = tasks.request_training()
        again = wait_for(lambda: TrainingRun.objects.filter(pk=again.pk, status__in=["succeeded", "failed"])
                         .first(), 300, worker)
    assert again.status == "succeeded", again.error


@pytest.mark.django_db(transaction=True)
def test_new_products_are_forecast_cold_start_and_flagged(small_shop, make_product):
    from shop import images
    from tests.conftest import png_bytes

    new = make_product(name="Brand new lamp", stock=5, category=small_shop[0].category)
    images.add_product_image(new, png_bytes((200, 40, 40)), "new.png")
    run = registry.start_run("forecast", trigger="command")
    services.execute_run(run.pk)
    s = results.summary(new.pk)
    assert s.cold_start and s.units >= 0
    assert not results.summary(small_shop[0].pk).cold_start


def test_too_little_history_fails_with_a_clear_reason(db, make_product, settings, tmp_path):
    settings.FORECAST_ENGINE_CONFIG = TINY
    make_product()
    run = registry.start_run("forecast", trigger="command")
    assert "failed" in services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "no sales history" in run.error
    assert results.serving_version() is None


def test_the_gate_rules(settings):
    settings.FORECAST_GATE_MAX_BIAS = 0.5
    serving = ModelVersion(pk=7, kind="forecast")

    def gate(cand, srv=None, bias=0.1):
        scores = {"candidate": {"WAPE": cand, "bias": bias}, "snaive": {"WAPE": 1.4}, "ma28": {"WAPE": 1.2}}
        if srv is not None:
            scores["serving"] = {"WAPE": srv}
        return {"scores": scores}

    assert services.decide(gate(1.1), None) == (True, "WAPE 1.100 beats the seasonal naive's 1.400, moving "
                                                      "average 1.200")
    assert services.decide(gate(1.5), None)[1] == "WAPE 1.500 does not beat the seasonal naive's 1.400"
    ok, why = services.decide(gate(1.10, srv=1.05), serving)
    assert not ok and why == "WAPE 1.100 does not beat the serving model v7's 1.050"
    assert services.decide(gate(1.05, srv=1.05), serving)[0] is False   # a tie keeps the serving model
    assert services.decide(gate(1.00, srv=1.05), serving)[0] is True
    assert services.decide(gate(0.99, bias=-0.9), None)[0] is False       # forecasting next to nothing
    assert services.decide(gate(None), None)[0] is False                 # broken (non-finite) forecasts


def test_cpu_and_gpu_configs(settings):
    settings.FORECAST_ENGINE_CONFIG = {"hidden": 16}
    cpu = services.run_config("cpu", {"epochs": 2})
    assert cpu["epochs"] == 2 and cpu["hidden"] == 16 and cpu["amp"] is False and cpu["horizon"] == 45
    gpu = services.run_config("cuda")
    assert gpu["amp"] is True and gpu["epochs"] == 100 and gpu["device"] == "cuda"


def test_the_device_is_cuda_when_a_gpu_is_present(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # no GPU here: the one thing mocked
    assert services.choose_device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert services.choose_device() == "cpu"


@pytest.mark.django_db(transaction=True)
def test_photos_and_the_artifact_on_s3(moto_server, settings, tmp_path):
    """Media on moto's S3 server: photos are read through default_storage, the artifact is written to the bucket
    and read back from it to publish again."""
    import boto3

    from tests.conftest import use_s3

    use_s3(settings, moto_server, "forecast-s3")
    settings.FORECAST_ENGINE_CONFIG = TINY
    settings.ML_CACHE_DIR = tmp_path / "ml-cache"
    call_command("seed_demo", products=12, customers=60, days=200, seed=3, stdout=open(os.devnull, "w"))
    run = registry.start_run("forecast", trigger="command")
    assert "promoted" in services.execute_run(run.pk)
    version = results.serving_version()
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    body = s3.get_object(Bucket="forecast-s3", Key=version.artifact)["Body"].read()
    import hashlib

    assert hashlib.sha256(body).hexdigest() == version.artifact_sha256
    bundle = services.load_bundle(version)
    assert bundle.model is not None and bundle.holdout is not None
    assert bundle.model.metrics["n_images"] == 12  # every photo arrived from the bucket
    first = Publication.objects.get(status="live")
    again = services.publish_serving(force=True)  # reads the artifact back from S3
    assert again.pk != first.pk and again.status == "live" and again.version == version
    a = {p.product_id: round(p.units, 6) for p in ProductForecast.objects.filter(publication=first)}
    b = {p.product_id: round(p.units, 6) for p in ProductForecast.objects.filter(publication=again)}
    assert a == b
