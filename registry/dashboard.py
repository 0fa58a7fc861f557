"""What every ML app's models page and JSON status show about its training runs and versions (the app adds its gate,
its publication and its own figures). Runs in the web process: reads rows, never imports an engine."""
from __future__ import annotations

from django.utils import timezone

from . import services as registry
from .models import ModelVersion, TrainingRun


def last_epoch(run: TrainingRun) -> dict:
    """The run's latest per-epoch record ({} before the first epoch)."""
    return (run.losses or [])[-1] if run.losses else {}


def run_json(run: TrainingRun | None) -> dict | None:
    """A run's progress for the status JSON (the models page polls it while the run is active)."""
    if run is None:
        return None
    last = last_epoch(run)
    beat = (timezone.now() - run.heartbeat_at).total_seconds() if run.heartbeat_at else None
    return {"id": run.pk, "status": run.status, "stage": run.stage, "progress": round(run.progress, 4),
            "epoch": run.epoch, "epochs": run.epochs, "train_loss": last.get("train_loss", last.get("loss")),
            "device": run.device, "trigger": run.trigger,
            "heartbeat_seconds_ago": None if beat is None else round(beat, 1),
            "duration_seconds": None if run.duration_seconds is None else round(run.duration_seconds, 1),
            "summary": run.summary, "error": run.error}


def _active(kind: str, runs: list[TrainingRun]) -> TrainingRun | None:
    return next((r for r in runs if r.is_active), None) or registry.active_run(kind)


def models_overview(kind: str, *, run_prefetch=(), limit: int = 20) -> dict:
    """The models page's part on runs and versions: ``serving``, ``versions`` and ``runs`` (the latest ``limit``,
    newest first) and the ``active`` run. Runs whose worker died are failed first."""
    registry.fail_stale_runs(kind)
    versions = list(ModelVersion.objects.filter(kind=kind).select_related("run")[:limit])
    runs = list(TrainingRun.objects.filter(kind=kind).select_related("requested_by")
                .prefetch_related(*run_prefetch)[:limit])
    serving = next((v for v in versions if v.status == ModelVersion.Status.SERVING), None) or \
        registry.serving_version(kind)
    return {"serving": serving, "versions": versions, "runs": runs, "active": _active(kind, runs)}


def runs_status(kind: str, run_json=run_json, *, run_prefetch=(), limit: int = 5) -> dict:
    """The status JSON's part on runs: ``active`` and the latest ``limit`` ``runs``, each as ``run_json(run)``.
    Runs whose worker died are failed first."""
    registry.fail_stale_runs(kind)
    runs = list(TrainingRun.objects.filter(kind=kind).prefetch_related(*run_prefetch)[:limit])
    return {"active": run_json(_active(kind, runs)), "runs": [run_json(r) for r in runs]}
