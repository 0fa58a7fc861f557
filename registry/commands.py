"""Management command bases shared by the ML apps (each app keeps a small ``Command`` of its own).

``TrainCommand`` is ``train_<model>``: request a training run of ``kind`` (on the Celery worker, or in this process
with ``--inline`` or when tasks run eagerly), optionally follow it (``--wait``) printing ``[ 42%] stage`` lines.
``PublishCommand`` is ``publish_<rows>``: publish the serving model's rows again, or say why nothing changed.
``StatusCommand`` is ``<model>_status``: its lines on failed and recent runs.
"""
from __future__ import annotations

import json
import time

from celery import current_app
from django.core.management.base import BaseCommand, CommandError

from . import services as registry
from .models import TrainingRun


class TrainCommand(BaseCommand):
    """Subclasses set ``kind`` and ``help`` and implement ``request_training`` and ``execute_run``."""

    kind: str = ""
    poll_seconds = 2.0

    def request_training(self, *, trigger: str, config: dict) -> TrainingRun:
        """Start a run and enqueue it for the worker (the app's ``request_training``)."""
        raise NotImplementedError

    def execute_run(self, run_id: int) -> str:
        """Carry the run out in this process (the app's ``services.execute_run``, imported there)."""
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true", help="follow the run until it ends; exit 1 if it failed")
        parser.add_argument("--inline", action="store_true", help="train in this process, not on the worker")
        parser.add_argument("--if-missing", action="store_true",
                            help="do nothing when a model already serves or a run is queued or running")
        parser.add_argument("--config", default="{}", help='engine options for this run, JSON, e.g. {"epochs": 5}')

    def handle(self, *args, **opts):
        try:
            config = json.loads(opts["config"])
        except ValueError as exc:
            raise CommandError(f"--config is not JSON: {exc}") from None
        if not isinstance(config, dict):
            raise CommandError("--config must be a JSON object")
        registry.fail_stale_runs(self.kind)
        if opts["if_missing"]:
            serving, active = registry.serving_version(self.kind), registry.active_run(self.kind)
            if serving or active:
                what = f"model {serving.label} serves" if serving else f"run #{active.pk} is {active.status}"
                self.stdout.write(f"Nothing to do: {what}.")
                return
        inline = opts["inline"] or current_app.conf.task_always_eager
        try:
            if inline:
                run = registry.start_run(self.kind, trigger=TrainingRun.Trigger.COMMAND, config=config)
            else:
                run = self.request_training(trigger=TrainingRun.Trigger.COMMAND, config=config)
        except registry.RunAlreadyActive as exc:
            if not opts["wait"]:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{exc} Following it.")
            run = exc.run
        else:
            where = "in this process" if inline else "on the Celery worker"
            self.stdout.write(f"Training run #{run.pk} started {where}.")
        if inline:
            self.execute_run(run.pk)
        if inline or opts["wait"]:
            run = self.follow(run.pk)
            if run.status != TrainingRun.Status.SUCCEEDED:
                raise CommandError(f"Run #{run.pk} failed: {run.error}")
            self.stdout.write(self.style.SUCCESS(f"Run #{run.pk}: {run.summary}"))

    def follow(self, run_id: int) -> TrainingRun:
        last = None
        while True:
            run = TrainingRun.objects.get(pk=run_id)
            line = f"[{run.progress * 100:3.0f}%] {run.stage}"
            if line != last:
                self.stdout.write(line)
                last = line
            if not run.is_active:
                return run
            registry.fail_stale_runs(self.kind)
            time.sleep(self.poll_seconds)


class PublishCommand(BaseCommand):
    """Subclasses set ``help``, ``force_help``, ``unchanged`` (what stays live when publishing fails, e.g. "the live
    forecast is unchanged") and ``train_command``, and implement ``publish(**opts)`` (the publication, or None when
    no model serves) and ``describe(pub)`` (the success line)."""

    force_help = "publish again even if this is live already"
    unchanged = "the live rows are unchanged"
    train_command = ""

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help=self.force_help)

    def publish(self, **opts):
        raise NotImplementedError

    def describe(self, pub) -> str:
        raise NotImplementedError

    def handle(self, *args, **opts):
        try:
            pub = self.publish(**opts)
        except Exception as exc:  # noqa: BLE001 - the live rows are untouched; say why
            raise CommandError(f"Nothing was published ({exc.__class__.__name__}: {exc}); {self.unchanged}.") from None
        if pub is None:
            raise CommandError(f"No model serves yet: run `manage.py {self.train_command}` first.")
        self.stdout.write(self.style.SUCCESS(self.describe(pub)))


class StatusCommand(BaseCommand):
    """Subclasses set ``kind`` and ``help``, add their arguments to ``--json`` and write the rest of the status."""

    kind = ""

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def write_failed(self, failed: list[int]) -> None:
        """The runs ``fail_stale_runs`` has just failed."""
        for run_id in failed:
            self.stdout.write(self.style.WARNING(f"Run #{run_id} was marked failed: its worker stopped responding."))

    def write_runs(self, limit: int = 5) -> None:
        """The latest runs, one line each: id, status, progress, device, queued at, outcome (or stage)."""
        runs = list(TrainingRun.objects.filter(kind=self.kind)[:limit])
        self.stdout.write("Recent runs:" if runs else "No training run yet.")
        for r in runs:
            self.stdout.write(f"  #{r.pk} {r.status:<9} {r.progress * 100:3.0f}% {r.device or '-':<4} "
                              f"{r.created_at:%Y-%m-%d %H:%M} {r.error or r.summary or r.stage}")
