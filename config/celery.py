"""The Celery app. Tasks are enqueued with transaction.on_commit (see shop.tasks); the beat schedule lives here."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Write buffered storefront events (views, cart changes, searches) to the database in batches.
    "flush-events": {"task": "shop.tasks.flush_events", "schedule": 5.0},
    # Refresh the popularity figure used to sort category pages.
    "refresh-popularity": {"task": "shop.tasks.refresh_popularity", "schedule": 3600.0},
    # Later jobs (forecast and recommender retraining) register their schedule entries here.
}
