"""Requesting training runs from the web process, a command or the nightly schedule, for any kind of model (each ML
app passes how its task is sent, so the web process never imports the worker's code)::

    run = request_training("forecast", send=train.delay, command="train_forecaster", user=request.user)
"""
from __future__ import annotations

import logging
from typing import Callable

from celery import current_app
from django.db import transaction
from django.utils import timezone

from . import services as registry
from .models import TrainingRun

log = logging.getLogger(__name__)


class NoWorker(RuntimeError):
    """Tasks run in-process (no broker): a web request must not train."""


def request_training(kind: str, *, send: Callable[[int], object], command: str, user=None,
                     trigger: str = TrainingRun.Trigger.MANUAL, config=None, allow_inline: bool = False) -> TrainingRun:
    """Start a training run of ``kind`` and ``send(run_id)`` its task when the transaction commits. Raises
    RunAlreadyActive when one is queued or running, NoWorker (naming ``manage.py <command> --wait``) when Celery runs
    tasks eagerly and ``allow_inline`` is false (web requests)."""
    if current_app.conf.task_always_eager and not allow_inline:
        raise NoWorker("No Celery worker is configured, so training cannot run in the background. Start the shop "
                       "with scripts/run.sh (it starts a worker), set REDIS_URL and run a worker, or run "
                       f"`manage.py {command} --wait`.")
    run = registry.start_run(kind, trigger=trigger, user=user, config=config)
    transaction.on_commit(lambda: _enqueue(kind, run.pk, send))
    return run


def _enqueue(kind: str, run_id: int, send) -> None:
    try:
        send(run_id)
    except Exception as exc:  # noqa: BLE001 - the broker is down: say so on the run instead of leaving it queued
        log.exception("could not enqueue %s training run #%s", kind, run_id)
        registry.fail_run(run_id, f"Could not reach the task queue: {exc}")


def nightly(kind: str, request: Callable[..., TrainingRun]) -> str:
    """The nightly beat task's body: one scheduled run of ``kind`` a day (``request(trigger=..., allow_inline=True)``
    starts it); skipped while one is active."""
    today = timezone.localdate()
    if TrainingRun.objects.filter(kind=kind, trigger=TrainingRun.Trigger.SCHEDULE, created_at__date=today).exists():
        return "already ran today"
    try:
        run = request(trigger=TrainingRun.Trigger.SCHEDULE, allow_inline=True)
    except registry.RunAlreadyActive as exc:
        return str(exc)
    return f"queued run #{run.pk}"
