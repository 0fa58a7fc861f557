"""The registry's rules: one active run per kind, idempotent claims, stale runs failed, artifacts checked by sha256,
promotion that never lets a failed run replace the serving version."""
import hashlib
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from registry import services as S
from registry.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db


def running(kind="forecast", **kw):
    run = S.start_run(kind, trigger=TrainingRun.Trigger.COMMAND)
    assert S.claim_run(run.pk) is not None
    TrainingRun.objects.filter(pk=run.pk).update(**kw)
    run.refresh_from_db()
    return run


def test_one_active_run_per_kind_and_the_second_request_names_the_first():
    first = S.start_run("forecast")
    with pytest.raises(S.RunAlreadyActive) as exc:
        S.start_run("forecast")
    assert exc.value.run == first and f"run #{first.pk}" in str(exc.value)
    other = S.start_run("recommender")  # another kind may train at the same time
    assert other.status == TrainingRun.Status.QUEUED
    S.claim_run(first.pk)
    S.finish_run(first, "done")
    assert S.start_run("forecast").pk != first.pk


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_start_exactly_one_run():
    barrier = threading.Barrier(4)
    results = []

    def request():
        barrier.wait()
        try:
            results.append(S.start_run("forecast").pk)
        except S.RunAlreadyActive as exc:
            results.append(("busy", exc.run.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = [r for r in results if not isinstance(r, tuple)]
    assert len(started) == 1 and TrainingRun.objects.count() == 1
    assert all(r[1] == started[0] for r in results if isinstance(r, tuple))


def test_claim_is_idempotent_and_records_the_worker():
    run = S.start_run("forecast")
    claimed = S.claim_run(run.pk, task_id="abc")
    assert claimed.status == "running" and claimed.worker_pid == os.getpid() and claimed.task_id == "abc"
    assert claimed.worker_host and claimed.heartbeat_at
    assert S.claim_run(run.pk) is None  # a redelivered task does nothing


def test_progress_of_a_run_failed_meanwhile_raises_cancelled():
    run = running()
    S.update_run(run, progress=0.3, stage="Training")
    assert TrainingRun.objects.get(pk=run.pk).progress == pytest.approx(0.3)
    S.cancel_run(run.pk)
    with pytest.raises(S.RunCancelled, match="Cancelled"):
        S.update_run(run, progress=0.4)
    assert S.finish_run(run) is False and run.status == "failed"


def test_stale_heartbeat_fails_the_run_and_its_candidate_but_not_the_serving_version():
    serving = S.create_version("forecast")
    S.promote(serving)
    run = running(heartbeat_at=timezone.now() - timedelta(minutes=10))
    candidate = S.create_version("forecast", run=run)
    fresh = running("recommender")
    assert S.fail_stale_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed" and "heartbeats" in run.error and run.finished_at
    candidate.refresh_from_db()
    assert candidate.status == "failed" and f"#{run.pk}" in candidate.reason
    assert S.serving_version("forecast") == serving
    assert TrainingRun.objects.get(pk=fresh.pk).status == "running"
    assert S.fail_stale_runs() == []  # nothing twice


def test_a_dead_worker_process_on_this_host_is_noticed_before_the_heartbeat_times_out():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run = running(worker_pid=proc.pid)
    assert S.fail_stale_runs("forecast") == [run.pk]
    assert "is gone" in TrainingRun.objects.get(pk=run.pk).error


def test_a_queued_run_no_worker_takes_is_failed_after_the_queue_timeout(settings):
    settings.REGISTRY_QUEUED_TIMEOUT_SECONDS = 60
    run = S.start_run("forecast")
    assert S.fail_stale_runs() == []
    TrainingRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    assert S.fail_stale_runs() == [run.pk]
    assert "No worker picked" in TrainingRun.objects.get(pk=run.pk).error
    S.start_run("forecast")  # the kind is free again


def test_promotion_retires_the_previous_version():
    v1, v2 = S.create_version("forecast"), S.create_version("forecast")
    assert S.promote(v1, "first model") is None
    assert S.promote(v2, "better") == v1
    v1.refresh_from_db()
    assert v1.status == "retired" and v1.retired_at and v2.status == "serving" and v2.reason == "better"
    assert list(ModelVersion.objects.filter(status="serving")) == [v2]
    with pytest.raises(S.RegistryError, match="only a candidate"):
        S.promote(v1)


def test_a_candidate_of_a_failed_run_cannot_be_promoted():
    serving = S.create_version("forecast")
    S.promote(serving)
    run = running()
    candidate = S.create_version("forecast", run=run)
    S.fail_run(run, "worker lost")
    candidate.refresh_from_db()
    with pytest.raises(S.RegistryError):
        S.promote(candidate)
    assert S.serving_version("forecast") == serving


def test_reject_keeps_the_reason_visible():
    v = S.create_version("forecast")
    S.reject(v, "WAPE 1.30 is not below the serving model's 1.10")
    assert ModelVersion.objects.get(pk=v.pk).reason.startswith("WAPE 1.30")


def test_artifact_round_trip_with_sha256_and_corruption_is_refused():
    v = S.create_version("forecast")
    blob = os.urandom(4096)
    name = S.store_artifact(v, blob)
    assert name.startswith("registry/forecast/") and default_storage.exists(name)
    v = ModelVersion.objects.get(pk=v.pk)
    assert v.artifact_sha256 == hashlib.sha256(blob).hexdigest() and v.artifact_bytes == 4096
    assert S.load_artifact(v) == blob
    with default_storage.open(name, "wb") as fh:
        fh.write(b"tampered")
    with pytest.raises(S.ArtifactIntegrityError, match="corrupt"):
        S.load_artifact(v)
    default_storage.delete(name)
    with pytest.raises(S.ArtifactIntegrityError, match="cannot be read"):
        S.load_artifact(v)


def test_prune_keeps_the_serving_artifact_and_the_newest_others():
    versions = []
    for i in range(5):
        v = S.create_version("forecast")
        S.store_artifact(v, f"blob {i}".encode())
        versions.append(v)
    S.promote(versions[0])
    assert S.prune_artifacts("forecast", keep=2) == 2
    kept = {v.pk: bool(v.artifact) for v in ModelVersion.objects.all()}
    assert kept == {versions[0].pk: True, versions[4].pk: True, versions[3].pk: True,
                    versions[2].pk: False, versions[1].pk: False}
    assert S.load_artifact(ModelVersion.objects.get(pk=versions[0].pk)) == b"blob 0"


@pytest.mark.django_db(transaction=True)
def test_reporter_beats_from_a_thread_and_keeps_the_log_tail():
    import logging

    run = running(heartbeat_at=timezone.now() - timedelta(hours=1))
    with S.RunReporter(run, loggers=["tests.registry"], heartbeat_seconds=0.05) as rep:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if TrainingRun.objects.get(pk=run.pk).heartbeat_at > timezone.now() - timedelta(minutes=1):
                break
            time.sleep(0.05)
        logging.getLogger("tests.registry").info("reading the data")
        rep.epoch({"epoch": 1, "epochs": 4, "train_loss": 0.5, "val_loss": 0.6}, 0.25, stage="Training")
    run.refresh_from_db()
    assert run.heartbeat_at > timezone.now() - timedelta(minutes=1)
    assert run.epoch == 1 and run.epochs == 4 and run.losses[0]["val_loss"] == 0.6 and run.stage == "Training"
    assert "reading the data" in run.log_tail


def test_artifact_is_written_to_and_read_back_from_s3(moto_server, settings):
    import boto3

    from tests.conftest import use_s3

    use_s3(settings, moto_server, "registry-artifacts")
    v = S.create_version("forecast")
    blob = os.urandom(100_000)
    name = S.store_artifact(v, blob)
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    stored = s3.get_object(Bucket="registry-artifacts", Key=name)["Body"].read()
    assert stored == blob
    assert S.load_artifact(ModelVersion.objects.get(pk=v.pk)) == blob
    s3.put_object(Bucket="registry-artifacts", Key=name, Body=b"not the model")
    with pytest.raises(S.ArtifactIntegrityError, match="corrupt"):
        S.load_artifact(ModelVersion.objects.get(pk=v.pk))
