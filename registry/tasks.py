"""Celery tasks of the registry (idempotent)."""
from celery import shared_task

from . import services


@shared_task
def fail_stale_runs() -> list[int]:
    """Mark runs whose worker died as failed (beat, every minute)."""
    return services.fail_stale_runs()
