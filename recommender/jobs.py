"""Starting recommender work from the web process or a command, without importing the worker's code.

    run = request_training(user=request.user)    # a queued run; its task is sent when the transaction commits

The task is sent by name, so the web process never imports ``recommender.tasks`` (which would reach the engine and
torch); with tasks running in-process (no broker, ``CELERY_TASK_ALWAYS_EAGER``) the task runs here, which only
commands may ask for (``allow_inline``).
"""
from __future__ import annotations

from celery import current_app
from django.utils.module_loading import import_string

from registry import jobs as registry_jobs
from registry.models import TrainingRun

from .models import KIND

TRAIN_TASK = "recommender.tasks.train_recommender"
PUBLISH_TASK = "recommender.tasks.publish_recommendations"
NoWorker = registry_jobs.NoWorker


def send(name: str, *args):
    """Send a task by name (eagerly in-process when Celery is configured so)."""
    if current_app.conf.task_always_eager:
        return import_string(name).apply(args=args)
    return current_app.send_task(name, args=args)


def request_training(*, user=None, trigger: str = TrainingRun.Trigger.MANUAL, config=None,
                     allow_inline: bool = False) -> TrainingRun:
    """Start a recommender training run and enqueue it on commit. Raises RunAlreadyActive when one is queued or
    running, NoWorker when Celery runs tasks eagerly and ``allow_inline`` is false (web requests)."""
    return registry_jobs.request_training(KIND, send=lambda run_id: send(TRAIN_TASK, run_id),
                                          command="train_recommender", user=user, trigger=trigger, config=config,
                                          allow_inline=allow_inline)


def nightly() -> str:
    """One scheduled run a day; skipped while one is active (the beat task's body)."""
    return registry_jobs.nightly(KIND, request_training)
