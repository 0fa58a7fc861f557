"""The plumbing the ML apps share through the registry, on a kind of model of its own: the train and publish
command bases (what a script running ``train_<model>`` reads) and the worker's run skeleton (``execute_run``)."""
import io
import re

import pytest
from celery import current_app
from django.core.management import CommandError, call_command

from registry import jobs
from registry import services as S
from registry.commands import PublishCommand, TrainCommand
from registry.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db
KIND = "test-kind"


def work(run, rep):
    """A training run's work: reports a stage, serves a version when the run's config says so, fails otherwise."""
    rep.stage("Learning", 0.5)
    if run.config.get("fail"):
        raise ValueError("the data is bad")
    version = S.create_version(KIND, run=run)
    S.promote(version, "it is the first")
    return f"{version.label} promoted"


class Train(TrainCommand):
    kind = KIND
    requested = []

    def request_training(self, *, trigger, config):
        run = S.start_run(KIND, trigger=trigger, config=config)
        self.requested.append(run.pk)
        return run

    def execute_run(self, run_id):
        return S.execute_run(KIND, run_id, work)


def train(*args):
    out = io.StringIO()
    call_command(Train(), *args, stdout=out)
    return out.getvalue()


def test_inline_training_prints_the_run_its_progress_and_its_outcome():
    out = train("--inline")
    run = TrainingRun.objects.get(kind=KIND)
    assert out.splitlines() == [f"Training run #{run.pk} started in this process.", "[100%] Done",
                                f"Run #{run.pk}: {ModelVersion.objects.get(kind=KIND).label} promoted"]
    assert run.status == "succeeded" and run.trigger == "command"
    assert "Nothing to do: model v" in train("--if-missing")


def test_a_failed_run_is_a_command_error_and_serves_nothing():
    with pytest.raises(CommandError, match=r"Run #\d+ failed: ValueError: the data is bad"):
        train("--inline", "--config", '{"fail": true}')
    assert TrainingRun.objects.get(kind=KIND).status == "failed"
    assert S.serving_version(KIND) is None


@pytest.mark.parametrize("config, message", [("{epochs", "--config is not JSON"),
                                             ("[1]", "--config must be a JSON object")])
def test_bad_config_is_refused_before_any_run(config, message):
    with pytest.raises(CommandError, match=message):
        train("--config", config)
    assert not TrainingRun.objects.exists()


def test_without_a_worker_flag_the_run_is_queued_for_the_worker(monkeypatch):
    monkeypatch.setattr(current_app.conf, "task_always_eager", False)
    Train.requested.clear()
    out = train("--config", '{"epochs": 3}')
    run = TrainingRun.objects.get(kind=KIND)
    assert Train.requested == [run.pk] and run.status == "queued" and run.config == {"epochs": 3}
    assert out == f"Training run #{run.pk} started on the Celery worker.\n"
    with pytest.raises(CommandError, match=f"run #{run.pk}"):
        train()
    assert f"Nothing to do: run #{run.pk} is queued." in train("--if-missing")


def test_wait_follows_the_run_already_active(monkeypatch):
    monkeypatch.setattr(current_app.conf, "task_always_eager", False)
    active = S.start_run(KIND)

    class Busy(Train):
        def request_training(self, **kwargs):
            exc = S.RunAlreadyActive(TrainingRun.objects.get(pk=active.pk))
            S.execute_run(KIND, active.pk, work)   # the worker ends it before the command looks
            raise exc

    out = io.StringIO()
    call_command(Busy(), "--wait", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"A test-kind training run is already queued (run #{active.pk}") and \
        lines[0].endswith("Following it.")
    assert lines[1:] == ["[100%] Done", f"Run #{active.pk}: {S.serving_version(KIND).label} promoted"]


def test_execute_run_claims_once_and_records_the_outcome():
    run = S.start_run(KIND)
    assert S.execute_run(KIND, run.pk, work).endswith("promoted")
    run.refresh_from_db()
    assert run.status == "succeeded" and run.summary.endswith("promoted") and run.progress == 1.0
    assert S.execute_run(KIND, run.pk, work) == f"run #{run.pk} is succeeded; nothing to do"
    assert S.execute_run(KIND, 987654, work) == "run #987654 is missing; nothing to do"


def test_execute_run_fails_the_run_and_its_candidate_and_keeps_the_log_tail():
    def broken(run, rep):
        S.create_version(KIND, run=run)
        rep.stage("Half way", 0.5)
        raise RuntimeError("out of memory")

    run = S.start_run(KIND)
    assert S.execute_run(KIND, run.pk, broken, loggers=["registry"]) == f"run #{run.pk} failed: out of memory"
    run.refresh_from_db()
    assert run.status == "failed" and run.error == "RuntimeError: out of memory"
    assert "Half way" in run.log_tail
    assert ModelVersion.objects.get(run=run).status == "failed"


def test_execute_run_stops_quietly_when_the_run_was_cancelled():
    def cancelled(run, rep):
        S.cancel_run(run.pk)
        rep.stage("Still working", 0.9)
        return "never"

    run = S.start_run(KIND)
    assert S.execute_run(KIND, run.pk, cancelled).startswith(f"run #{run.pk} stopped: ")
    run.refresh_from_db()
    assert run.status == "failed" and run.error == "Cancelled by an operator."


class Publish(PublishCommand):
    train_command = "train_test"
    unchanged = "the live test rows are unchanged"
    result = None

    def publish(self, **opts):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def describe(self, pub):
        return f"Live: {pub}"


def publish(result, *args):
    Publish.result = result
    out = io.StringIO()
    call_command(Publish(), *args, stdout=out)
    return out.getvalue()


def test_publish_command_says_what_went_live_or_why_nothing_did():
    assert publish("12 rows") == "Live: 12 rows\n"
    with pytest.raises(CommandError, match=r"No model serves yet: run `manage.py train_test` first\."):
        publish(None)
    with pytest.raises(CommandError, match=r"^Nothing was published \(OSError: disk full\); the live test rows are "
                                           r"unchanged\.$"):
        publish(OSError("disk full"), "--force")


def test_request_training_sends_the_task_on_commit_and_fails_the_run_when_the_broker_is_down(
        monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(current_app.conf, "task_always_eager", False)
    sent = []
    with django_capture_on_commit_callbacks(execute=True):
        run = jobs.request_training(KIND, send=sent.append, command="train_test", config={"epochs": 2})
        assert sent == []   # not before the transaction commits
    assert sent == [run.pk] and run.config == {"epochs": 2} and run.trigger == "manual"
    S.cancel_run(run.pk)

    def down(run_id):
        raise ConnectionError("redis is gone")

    with django_capture_on_commit_callbacks(execute=True):
        run = jobs.request_training(KIND, send=down, command="train_test")
    run.refresh_from_db()
    assert run.status == "failed" and run.error == "Could not reach the task queue: redis is gone"


def test_a_web_request_never_trains_in_process():
    with pytest.raises(jobs.NoWorker, match="`manage.py train_test --wait`"):
        jobs.request_training(KIND, send=print, command="train_test")
    assert not TrainingRun.objects.exists()


def test_nightly_queues_one_scheduled_run_a_day(django_capture_on_commit_callbacks):
    def request(**kwargs):
        return jobs.request_training(KIND, send=lambda run_id: None, command="train_test", **kwargs)

    assert jobs.nightly(KIND, request).startswith("queued run #")
    run = TrainingRun.objects.get(kind=KIND)
    assert run.trigger == "schedule" and jobs.nightly(KIND, request) == "already ran today"
    TrainingRun.objects.filter(pk=run.pk).update(trigger="manual")
    assert "already queued" in jobs.nightly(KIND, request)   # a run is active: none is added
    assert TrainingRun.objects.filter(kind=KIND).count() == 1


def test_publications_swap_keep_one_previous_and_clean_up_what_failed_or_was_abandoned():
    """On the recommender's publications (any PublicationBase works alike)."""
    from datetime import timedelta

    from django.utils import timezone

    from recommender.models import Publication
    from registry.publish import Publications

    pubs = Publications(Publication, [])
    version = S.create_version(KIND)
    made = []
    for _ in range(4):
        pub = Publication.objects.create(version=version)
        with pubs.writing(pub):
            pubs.swap(pub)
        pubs.delete_old()
        made.append(pub.pk)
    assert list(Publication.objects.order_by("pk").values_list("pk", "status")) == [
        (made[2], "superseded"), (made[3], "live")]
    assert pubs.live().pk == made[3]

    broken = Publication.objects.create(version=version)
    with pytest.raises(ZeroDivisionError), pubs.writing(broken):
        1 / 0
    assert not Publication.objects.filter(pk=broken.pk).exists() and pubs.live().pk == made[3]

    def refuse():
        raise S.RunCancelled("cancelled")

    refused = Publication.objects.create(version=version)
    with pytest.raises(S.RunCancelled), pubs.writing(refused):
        pubs.swap(refused, on_swap=refuse)   # nothing changes: the live one stays live
    assert pubs.live().pk == made[3] and not Publication.objects.filter(pk=refused.pk).exists()

    fresh = Publication.objects.create(version=version)   # being written right now
    abandoned = Publication.objects.create(version=version, created_at=timezone.now() - timedelta(hours=2))
    failed = Publication.objects.create(version=version, status="failed")
    pubs.cleanup_abandoned()
    assert set(Publication.objects.values_list("pk", flat=True)) == {made[2], made[3], fresh.pk}


def test_status_command_lines_on_failed_and_recent_runs():
    from registry.commands import StatusCommand

    class Status(StatusCommand):
        kind = KIND

        def handle(self, *args, **opts):
            self.write_failed([7])
            self.write_runs(limit=2)

    out = io.StringIO()
    call_command(Status(), stdout=out)
    assert out.getvalue().splitlines() == ["Run #7 was marked failed: its worker stopped responding.",
                                           "No training run yet."]
    done = S.start_run(KIND)
    S.execute_run(KIND, done.pk, work)
    failed = S.start_run(KIND, config={"fail": True})
    S.execute_run(KIND, failed.pk, work)
    S.start_run(KIND)
    out = io.StringIO()
    call_command(Status(), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[1] == "Recent runs:" and len(lines) == 4
    assert re.fullmatch(rf"  #{failed.pk + 1} queued      0% -    \d{{4}}-\d\d-\d\d \d\d:\d\d Waiting for a worker",
                        lines[2])
    assert lines[3].startswith(f"  #{failed.pk} failed    ") and lines[3].endswith("ValueError: the data is bad")
