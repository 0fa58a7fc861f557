"""Celery tasks of the forecaster (thin: the work is in forecasting.services, imported inside the task so the web
process, which only enqueues, never imports the engine or torch).

    run = request_training(user=request.user)        # queued run, task enqueued when the transaction commits
"""
from __future__ import annotations

from celery import shared_task

from registry import jobs
from registry.models import TrainingRun

from .results import KIND

NoWorker = jobs.NoWorker


def request_training(*, user=None, trigger: str = TrainingRun.Trigger.MANUAL, config=None,
                     allow_inline: bool = False) -> TrainingRun:
    """Start a forecast training run and enqueue it on commit. Raises RunAlreadyActive when one is queued or
    running, NoWorker when Celery runs tasks eagerly and ``allow_inline`` is false (web requests)."""
    return jobs.request_training(KIND, send=lambda run_id: train_forecaster.delay(run_id),
                                 command="train_forecaster", user=user, trigger=trigger, config=config,
                                 allow_inline=allow_inline)


@shared_task(bind=True, acks_late=True)
def train_forecaster(self, run_id: int) -> str:
    """Train, gate and publish for one queued run. Does nothing for a run that is no longer queued (idempotent:
    a redelivered message, a run cancelled or failed meanwhile)."""
    from . import services

    return services.execute_run(run_id, task_id=self.request.id or "")


@shared_task
def nightly_retrain() -> str:
    """Beat entry (FORECAST_RETRAIN_AT): one scheduled run a day; skipped while one is active."""
    return jobs.nightly(KIND, request_training)


@shared_task
def publish_forecasts() -> str:
    from . import services

    pub = services.publish_serving()
    return f"published {pub.n_products} products" if pub else "no serving model"
