"""Celery tasks of the recommender (thin: the work is in recommender.services). Only workers import this module;
the web process sends these tasks by name (recommender.jobs)."""
from __future__ import annotations

from celery import shared_task

from . import jobs


@shared_task(bind=True, acks_late=True)
def train_recommender(self, run_id: int) -> str:
    """Train, gate and publish for one queued run. Does nothing for a run that is no longer queued (idempotent:
    a redelivered message, a run cancelled or failed meanwhile)."""
    from . import services

    return services.execute_run(run_id, task_id=self.request.id or "")


@shared_task
def nightly_retrain() -> str:
    """Beat entry (RECOMMENDER_RETRAIN_AT): one scheduled run a day."""
    return jobs.nightly()


@shared_task
def publish_recommendations(force: bool = False) -> str:
    """Publish the serving model's rows again (today's stock and catalog)."""
    from . import services

    pub = services.publish_serving(force=force)
    return (f"live: {pub.n_customers} customers, {pub.n_products} products by {pub.version.label}" if pub
            else "no serving model")
