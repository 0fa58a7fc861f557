"""Training end to end on PostgreSQL with a real Celery worker: train (tiny), gate, publish; then the storefront shows
what was published; a rejected candidate and a failed run leave the serving model serving."""
from __future__ import annotations

import re
import time

import pytest
from django.db import transaction

from recommender import jobs, services
from recommender.models import KIND, CustomerRecommendation, ProductRecommendation, Publication
from registry import services as registry
from registry.models import ModelVersion, TrainingRun
from shop.models import Event
from tests.conftest import celery_worker

from . import shopdata

pytestmark = pytest.mark.slow


def wait_for(run_id: int, timeout: float = 600) -> TrainingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = TrainingRun.objects.get(pk=run_id)
        if not run.is_active:
            return run
        time.sleep(1)
    raise AssertionError(f"run #{run_id} still {run.status} ({run.stage}) after {timeout} s")


def section(html: str, slot: str) -> str:
    m = re.search(rf'id="recs-{slot}".*?</section>', html, re.S)
    return m.group(0) if m else ""


def names(html: str, slot: str) -> list[str]:
    return re.findall(r'rec-link" data-product="\d+">([^<]+)</a>', section(html, slot))


def ids(html: str, slot: str) -> list[int]:
    return [int(x) for x in re.findall(r'rec-link" data-product="(\d+)">[^<]+</a>', section(html, slot))]


@pytest.fixture
def worker_settings(settings):
    for k, v in shopdata.SETTINGS.items():
        setattr(settings, k, v)
    return settings


@pytest.mark.django_db(transaction=True)
def test_a_worker_trains_gates_and_publishes_and_the_slots_show_it(client, proc_cleanup, worker_settings):
    shop = shopdata.build()
    with celery_worker(proc_cleanup, **shopdata.WORKER_ENV):
        with transaction.atomic():
            run = jobs.request_training(trigger=TrainingRun.Trigger.COMMAND)
        run = wait_for(run.pk)
    assert run.status == "succeeded", (run.error, run.log_tail)
    assert run.worker_pid and run.heartbeat_at and run.device == "cpu"
    # The served hybrid fits the DNN more than once (for the re-ranker's time-ordered windows): every epoch of
    # every fit is recorded.
    assert run.epochs >= shopdata.TINY["epochs"] and len(run.losses) == run.epochs
    version = ModelVersion.objects.get(run=run)
    assert version.status == "serving" and "promoted" in run.summary
    gate = version.metrics["gate"]
    assert gate["users"] >= 3 and set(gate["scores"]) == {"candidate", "popularity"}
    assert gate["scores"]["candidate"]["NDCG@10"] >= gate["scores"]["popularity"]["NDCG@10"]
    pub = Publication.objects.get(status="live")
    assert pub.version == version and pub.n_customers == 24 and pub.n_products == 17
    assert CustomerRecommendation.objects.filter(publication=pub).count() == 24 and pub.n_customer_items == 24 * 17
    new = shop["products"]["new"][0]
    assert ProductRecommendation.objects.get(publication=pub, source=new).basis == "content"
    assert pub.n_content_products == 1
    assert ProductRecommendation.objects.get(publication=pub, source=shop["products"]["mug"][0]).basis == "bought"

    # a customer who bought mugs sees mugs first on the home page
    buyer = shop["customers"]["mug"][0]
    client.force_login(buyer)
    shown = names(client.get("/").content.decode(), "home")
    assert len(shown) == 4 and sum(n.startswith("Mug") for n in shown) >= 3, shown
    client.logout()

    # a visitor who viewed a lamp sees that lamp's published neighbours
    visitor = type(client)()
    lamp = shop["products"]["lamp"][0]
    visitor.get(lamp.get_absolute_url())
    html = visitor.get("/").content.decode()
    related = ProductRecommendation.objects.get(publication=pub, source=lamp).products
    assert ids(html, "home") == related[:4]
    assert sum(n.startswith("Lamp") for n in names(html, "home")) >= 3

    # the click through a recommendation link and the impressions are logged with the model version
    link = re.search(r'href="([^"]+src=recommendation&amp;ref=home\.model\.(\d+)\.session)"', html)
    assert int(link.group(2)) == version.pk
    visitor.get(link.group(1).replace("&amp;", "&"))
    vid = visitor.cookies["vid"].value
    clicks = Event.objects.filter(kind="view", source="recommendation", session_key=vid)
    assert clicks.count() == 1 and clicks.get().data["ref"] == f"home.model.{version.pk}.session"
    imps = Event.objects.filter(kind="impression", session_key=vid)
    assert [i.data["ref"].split(".")[0] for i in imps.order_by("pk")] == ["product", "home", "product"]


@pytest.mark.django_db
def test_a_candidate_that_loses_the_gate_is_rejected_with_the_reason_and_the_serving_model_stays(
        worker_settings, settings):
    shopdata.build(n_customers=12)
    serving = registry.create_version(KIND, engine="earlier")
    registry.promote(serving)
    run = registry.start_run(KIND, trigger=TrainingRun.Trigger.COMMAND,
                             config={"repeat": False})   # never re-recommends: loses where customers re-buy
    outcome = services.execute_run(run.pk)
    run.refresh_from_db()
    candidate = ModelVersion.objects.get(run=run)
    assert run.status == "succeeded" and candidate.status == "rejected"
    assert "is below popularity" in candidate.reason and candidate.reason in outcome
    assert registry.serving_version(KIND) == serving and "keeps serving" in outcome
    assert "could not be scored" in candidate.metrics["gate"]["serving_note"]  # the earlier one has no artifact
    assert not Publication.objects.exists()


@pytest.mark.django_db
def test_too_few_buyers_in_the_gate_days_is_no_verdict(worker_settings, settings):
    shopdata.build(n_customers=6)
    settings.RECOMMENDER_GATE_MIN_USERS = 50
    run = registry.start_run(KIND)
    services.execute_run(run.pk)
    v = ModelVersion.objects.get(run=run)
    assert v.status == "rejected" and "at least 50 are needed" in v.reason


@pytest.mark.django_db
def test_a_failing_run_is_recorded_and_changes_nothing(worker_settings, settings, catalog, publish_rows, user):
    live = publish_rows(customers={user: [catalog["m1"]]})
    serving = registry.serving_version(KIND)
    run = registry.start_run(KIND, config={"epochs": "many"})
    outcome = services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "failed" in outcome
    assert "no views, add-to-carts or purchases" in run.error  # the catalog fixture has no history
    assert registry.serving_version(KIND) == serving and Publication.objects.get(status="live") == live
    assert services.execute_run(run.pk).endswith("nothing to do")  # a redelivered task does nothing


@pytest.mark.django_db
def test_bad_engine_options_fail_the_run_with_a_clear_message(worker_settings):
    shopdata.build(n_customers=4, days=30)
    run = registry.start_run(KIND, config={"epochs": "many"})
    services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "Engine options are invalid" in run.error and "epochs" in run.error


def test_the_decision_rule(settings):
    from types import SimpleNamespace

    settings.RECOMMENDER_GATE_MIN_USERS, settings.RECOMMENDER_GATE_TOLERANCE = 10, 0.002
    serving = SimpleNamespace(label="v3")

    def gate(cand, **others):
        return {"window": ["2026-11-15", "2026-11-21"], "users": 50,
                "scores": {"candidate": {"NDCG@10": cand}, **{k: {"NDCG@10": v} for k, v in others.items()}}}

    assert services.decide(gate(0.10, popularity=0.05, serving=0.1015), serving)[0]   # trails within 0.002
    ok, why = services.decide(gate(0.10, popularity=0.05, serving=0.103), serving)
    assert not ok and "below the serving model v3 0.1030 (by more than 0.002)" in why
    ok, why = services.decide(gate(0.10, popularity=0.1001, serving=0.09), serving)   # baselines: no slack
    assert not ok and "below popularity 0.1001" in why
    ok, why = services.decide({**gate(0.2), "users": 9}, None)
    assert not ok and "at least 10 are needed" in why
    assert services.decide(gate(0.2), None) == (True, "NDCG@10 0.2000 on 2026-11-15 to 2026-11-21 (50 customers).")


def test_device_and_options_for_a_run(settings):
    settings.RECOMMENDER_ENGINE_CONFIG = {"dim": 32}
    settings.RECOMMENDER_TRAIN_THREADS = 1
    assert services.run_config("cpu", {"epochs": 2}) == {"device": "cpu", "threads": 1, "dim": 32, "epochs": 2}
    assert services.run_config("cuda") == {"device": "cuda", "dim": 32}   # a GPU gets no thread limit
    settings.RECOMMENDER_REFIT = "auto"
    assert services._should_refit("cuda", 10_000) and services._should_refit("cpu", 60)
    assert not services._should_refit("cpu", 10_000)


def test_the_web_process_cannot_train_without_a_worker(settings):
    from celery import current_app

    assert current_app.conf.task_always_eager
    with pytest.raises(jobs.NoWorker, match="train_recommender --wait"):
        jobs.request_training()


def test_the_gates_baselines_are_pluggable(settings):
    from recommender.engine.evaluate import MODELS

    settings.RECOMMENDER_GATE_BASELINES = []
    assert list(services.gate_baselines()) == [n for n in services.DEFAULT_GATE_BASELINES if n in MODELS]
    settings.RECOMMENDER_GATE_BASELINES = ["itemknn", "popularity"]
    assert list(services.gate_baselines()) == ["itemknn", "popularity"]
    settings.RECOMMENDER_GATE_BASELINES = ["popularity", "oracle"]
    with pytest.raises(services.TrainingError, match="oracle"):
        services.gate_baselines()


def test_photo_features_only_from_a_pretrained_backbone(settings, monkeypatch):
    import pandas as pd

    calls = []
    monkeypatch.setattr(services.inputs, "image_features", lambda items: calls.append(len(items)) or {"1": [0.0]})
    items = pd.DataFrame({"item_id": ["1"]})
    settings.RECOMMENDER_IMAGE_FEATURES = "false"
    assert services._image_features(items) is None
    settings.RECOMMENDER_IMAGE_FEATURES = "auto"
    monkeypatch.setattr(services, "pretrained_backbone", lambda: False)
    assert services._image_features(items) is None
    monkeypatch.setattr(services, "pretrained_backbone", lambda: True)
    assert services._image_features(items) == {"1": [0.0]} and calls == [1]
    settings.RECOMMENDER_IMAGE_FEATURES = "true"
    monkeypatch.setattr(services, "pretrained_backbone", lambda: False)
    assert services._image_features(items) == {"1": [0.0]}
