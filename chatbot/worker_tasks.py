"""Celery tasks that only workers run: they may import torch (exporting the sentence encoder). The web process
queues them by name (chatbot.training.enqueue) and never imports this module."""
from __future__ import annotations

from celery import shared_task


@shared_task
def train_intents(force: bool = False) -> int | None:
    """Retrain the intent classifier (skipped when nothing changed). Returns the new model's id."""
    from . import trainer, training

    try:
        run = trainer.train(force=force)
    except training.TrainingBusy:
        train_intents.apply_async(kwargs={"force": force}, countdown=30)  # the running one may miss our change
        return None
    return run.pk if run else None
