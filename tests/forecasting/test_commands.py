"""Management commands and the nightly schedule."""
import io
import json
import os

import pytest
from django.core.management import CommandError, call_command

from forecasting import tasks
from registry import services as registry
from registry.models import TrainingRun
from tests.forecasting.test_training import TINY

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_nightly_entry_comes_from_the_settings():
    from config.celery import app

    entry = app.conf.beat_schedule["nightly-forecast-retrain"]
    assert entry["task"] == "forecasting.tasks.nightly_retrain"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({3}, {0})
    assert app.conf.beat_schedule["fail-stale-training-runs"]["task"] == "registry.tasks.fail_stale_runs"


def test_nightly_task_queues_one_run_a_day(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tasks.nightly_retrain().startswith("queued run #")
        assert "already" in tasks.nightly_retrain()
    assert len(callbacks) == 1 and TrainingRun.objects.get().trigger == "schedule"


def test_the_web_never_trains_in_process():
    with pytest.raises(tasks.NoWorker):
        tasks.request_training()
    assert not TrainingRun.objects.exists()


def test_publish_without_a_serving_model_is_a_clear_error():
    with pytest.raises(CommandError, match="No model serves yet"):
        run("publish_forecasts")


def test_a_second_training_request_says_one_is_running():
    active = registry.start_run("forecast")
    with pytest.raises(CommandError, match=f"run #{active.pk}"):
        run("train_forecaster")
    assert "Nothing to do" in run("train_forecaster", "--if-missing")
    with pytest.raises(CommandError, match="not JSON"):
        run("train_forecaster", "--config", "{epochs")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_train_inline_then_status_and_publish(settings, tmp_path):
    settings.FORECAST_ENGINE_CONFIG = TINY
    settings.ML_CACHE_DIR = tmp_path / "ml-cache"
    call_command("seed_demo", products=12, customers=60, days=200, seed=3, stdout=open(os.devnull, "w"))
    out = run("train_forecaster", "--inline")
    assert "promoted" in out and "[100%] Done" in out
    status = run("forecast_status")
    assert "Serving model: v" in status and "seasonal naive" in status and "Live forecast: 12 products" in status
    assert json.loads(run("forecast_status", "--json"))["serving"]["label"].startswith("v")
    assert "Live: 12 products x 45 days" in run("publish_forecasts")
    assert "Nothing to do" in run("train_forecaster", "--if-missing")
