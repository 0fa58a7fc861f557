"""Start a recommender training run (train -> gate -> publish) on the Celery worker, or in this process."""
from __future__ import annotations

from recommender import jobs
from recommender.models import KIND
from registry.commands import TrainCommand


class Command(TrainCommand):
    help = ("Train the recommender on the shop's interactions, gate it against the serving model and the baselines "
            "on the latest days, and publish. Queues the run for the Celery worker (or trains here when tasks run "
            "in-process).")
    kind = KIND

    def request_training(self, **kwargs):
        return jobs.request_training(**kwargs)

    def execute_run(self, run_id: int) -> str:
        from recommender import services

        return services.execute_run(run_id)
