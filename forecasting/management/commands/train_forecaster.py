"""Start a forecast training run (train -> gate -> publish) on the Celery worker, or in this process."""
from __future__ import annotations

from forecasting import tasks
from forecasting.results import KIND
from registry.commands import TrainCommand


class Command(TrainCommand):
    help = ("Train the forecaster on the shop's data, gate it against the serving model and the baselines, and "
            "publish. Queues the run for the Celery worker (or trains here when tasks run in-process).")
    kind = KIND

    def request_training(self, **kwargs):
        return tasks.request_training(**kwargs)

    def execute_run(self, run_id: int) -> str:
        from forecasting import services

        return services.execute_run(run_id)
