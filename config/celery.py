"""The Celery app. Tasks are enqueued with transaction.on_commit (see shop.tasks); the beat schedule lives here."""
import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="worker_tasks")  # tasks that only workers import (chatbot)

app.conf.beat_schedule = {
    # Write buffered storefront events (views, cart changes, searches) to the database in batches.
    "flush-events": {"task": "shop.tasks.flush_events", "schedule": 5.0},
    # Refresh the popularity figure used to sort category pages.
    "refresh-popularity": {"task": "shop.tasks.refresh_popularity", "schedule": 3600.0},
    # Send order emails still waiting in the outbox (queued while the broker was down, or SMTP failed).
    "drain-outbox": {"task": "shop.tasks.drain_outbox", "schedule": 60.0},
    # Delete old anonymous carts, expired sessions and old sent outbox emails.
    "cleanup": {"task": "shop.tasks.cleanup", "schedule": 24 * 3600.0},
    # Fail training runs whose worker died (no heartbeat), so the next run can start.
    "fail-stale-training-runs": {"task": "registry.tasks.fail_stale_runs", "schedule": 60.0},
    # Delete chat conversations older than CHATBOT_RETENTION_DAYS.
    "purge-chat-conversations": {"task": "chatbot.tasks.purge_conversations", "schedule": 6 * 3600.0},
    # Later jobs (forecast and recommender retraining) register their schedule entries here.
}


@app.on_after_configure.connect
def _forecast_schedule(sender, **kwargs):
    """Retrain, gate and publish the sales forecast every night (FORECAST_RETRAIN_AT, shop time; "off": never)."""
    from django.conf import settings

    at = settings.FORECAST_RETRAIN_AT
    if at.lower() != "off":
        hour, minute = (int(x) for x in at.split(":"))
        # Retrain, gate and publish the sales forecast every night (FORECAST_RETRAIN_AT, shop time).
        sender.add_periodic_task(crontab(hour=hour, minute=minute), sender.signature("forecasting.tasks.nightly_retrain"),
                                 name="nightly-forecast-retrain")


@app.on_after_configure.connect
def _recommender_schedule(sender, **kwargs):
    """Retrain, gate and publish the recommender every night (RECOMMENDER_RETRAIN_AT, shop time; "off": never)."""
    from celery.schedules import crontab
    from django.conf import settings

    at = settings.RECOMMENDER_RETRAIN_AT
    if at.lower() != "off":
        hour, minute = (int(x) for x in at.split(":"))
        sender.add_periodic_task(crontab(hour=hour, minute=minute),
                                 sender.signature("recommender.tasks.nightly_retrain"),
                                 name="nightly-recommender-retrain")
