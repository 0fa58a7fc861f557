"""The registry's business rules: training runs, model versions, artifacts, promotion.

Lifecycle of a run (any kind)::

    run = start_run("forecast", trigger=..., user=...)       # queued; RunAlreadyActive if one is queued/running
    transaction.on_commit(lambda: my_task.delay(run.pk))
    # in the worker:
    run = claim_run(run_id)                                    # queued -> running (None if already claimed)
    with RunReporter(run, loggers=["forecasting"]) as rep:     # heartbeat thread + log tail
        rep.stage("Training", 0.1); rep.epoch({...}, 0.5)      # RunCancelled if the run was failed meanwhile
        version = create_version(...); store_artifact(version, blob)
        promote(version) or reject(version, "why")
        finish_run(run, "promoted v3")
    # on an exception: fail_run(run, "message")

``execute_run(kind, run_id, work)`` is that worker's part in one call (``work(run, reporter)`` returns the outcome).

A run whose worker died (kill -9, lost machine) stops beating; ``fail_stale_runs`` (beat, every start_run and
every status page) marks it failed, and its candidate version too. The serving version is never touched by a
failed run: promotion happens in one transaction that first checks the run is still running.
"""
from __future__ import annotations

import collections
import hashlib
import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import ModelVersion, TrainingRun, artifact_storage

log = logging.getLogger(__name__)

class RegistryError(Exception):
    """A registry rule was broken (promoting a version that is not a candidate, ...)."""


class RunAlreadyActive(RegistryError):
    def __init__(self, run: TrainingRun):
        self.run = run
        super().__init__(f"A {run.kind} training run is already {run.status} (run #{run.pk}, "
                         f"started {run.created_at:%Y-%m-%d %H:%M}).")


class RunCancelled(RegistryError):
    """The run was marked failed (stale check, cancel) while this worker was still working on it."""


class ArtifactIntegrityError(RegistryError):
    """The stored artifact is missing or its bytes do not match the recorded sha256."""


def _setting(name: str, default):
    return getattr(settings, name, default)


def hostname() -> str:
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# ----------------------------------------------------------------------------------------------------- runs
def active_run(kind: str) -> TrainingRun | None:
    return TrainingRun.objects.filter(kind=kind, status__in=TrainingRun.ACTIVE).order_by("pk").first()


def start_run(kind: str, *, trigger: str = TrainingRun.Trigger.MANUAL, user=None, config=None) -> TrainingRun:
    """Create a queued run, or raise RunAlreadyActive naming the run that is queued or running for ``kind``.

    The database enforces one active run per kind, so two simultaneous requests cannot both succeed."""
    fail_stale_runs(kind)
    for _ in range(2):
        try:
            with transaction.atomic():
                return TrainingRun.objects.create(kind=kind, trigger=trigger, requested_by=user,
                                                  config=dict(config or {}), stage="Waiting for a worker")
        except IntegrityError:
            existing = active_run(kind)
            if existing is not None:
                raise RunAlreadyActive(existing) from None
    raise RegistryError(f"could not start a {kind} run")


def claim_run(run_id: int, *, task_id: str = "") -> TrainingRun | None:
    """queued -> running for this worker. None when the run is not queued any more (a redelivered task, a run
    already taken or failed): the caller then does nothing, which makes the task idempotent."""
    now = timezone.now()
    n = TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now, worker_host=hostname()[:255],
        worker_pid=os.getpid(), task_id=(task_id or "")[:255], stage="Starting")
    return TrainingRun.objects.get(pk=run_id) if n else None


def heartbeat(run_id: int) -> bool:
    return bool(TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING)
                .update(heartbeat_at=timezone.now()))


def update_run(run: TrainingRun, **fields) -> None:
    """Write progress fields of a running run (this is also a heartbeat). Raises RunCancelled when the run is no
    longer running, so a worker whose run was failed by the stale check or cancelled stops."""
    fields["heartbeat_at"] = timezone.now()
    n = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(**fields)
    for k, v in fields.items():
        setattr(run, k, v)
    if not n:
        run.refresh_from_db(fields=["status", "error"])
        raise RunCancelled(f"run #{run.pk} is {run.status}: {run.error or 'no longer running'}")


def finish_run(run: TrainingRun, summary: str = "") -> bool:
    now = timezone.now()
    n = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(
        status=TrainingRun.Status.SUCCEEDED, progress=1.0, finished_at=now, heartbeat_at=now, stage="Done",
        summary=summary, log_tail=run.log_tail)
    run.refresh_from_db()
    return bool(n)


def fail_run(run: TrainingRun | int, error: str, *, log_tail: str | None = None) -> bool:
    """Mark a queued or running run failed, and its candidate versions. False when it had already ended."""
    run_id = run.pk if isinstance(run, TrainingRun) else run
    now = timezone.now()
    fields = dict(status=TrainingRun.Status.FAILED, error=error[:10000], finished_at=now, stage="Failed")
    if log_tail is not None:
        fields["log_tail"] = log_tail
    with transaction.atomic():
        locked = TrainingRun.objects.select_for_update().filter(pk=run_id, status__in=TrainingRun.ACTIVE).first()
        if locked is None:
            return False
        TrainingRun.objects.filter(pk=run_id).update(**fields)
        ModelVersion.objects.filter(run_id=run_id, status=ModelVersion.Status.CANDIDATE).update(
            status=ModelVersion.Status.FAILED, reason=f"Training run #{run_id} failed: {error}"[:10000])
    if isinstance(run, TrainingRun):
        run.refresh_from_db()
    return True


def cancel_run(run_id: int, user=None) -> bool:
    who = getattr(user, "username", None) or "an operator"
    return fail_run(run_id, f"Cancelled by {who}.")


def fail_stale_runs(kind: str | None = None, now=None) -> list[int]:
    """Fail running runs whose worker stopped beating (or, on this host, whose process is gone) and queued runs
    no worker picked up in time. Returns the ids it failed. Safe to call from anywhere, any number of times."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=_setting("REGISTRY_STALE_AFTER_SECONDS", 300))
    queued_timeout = timedelta(seconds=_setting("REGISTRY_QUEUED_TIMEOUT_SECONDS", 6 * 3600))
    here = hostname()
    runs = TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE)
    if kind is not None:
        runs = runs.filter(kind=kind)
    failed = []
    for run in runs.only("pk", "status", "heartbeat_at", "created_at", "worker_host", "worker_pid"):
        why = None
        if run.status == TrainingRun.Status.QUEUED:
            if run.created_at < now - queued_timeout:
                why = (f"No worker picked this run up within {int(queued_timeout.total_seconds())} s; is a Celery "
                       f"worker running?")
        elif run.heartbeat_at is None or run.heartbeat_at < now - stale_after:
            last = timezone.localtime(run.heartbeat_at).strftime("%Y-%m-%d %H:%M:%S") if run.heartbeat_at else "never"
            why = (f"The worker stopped sending heartbeats (last {last}, limit {int(stale_after.total_seconds())} s): "
                   f"it was probably killed or lost.")
        elif run.worker_host == here and run.worker_pid and not _pid_alive(run.worker_pid):
            why = f"The worker process (pid {run.worker_pid} on {here}) is gone: it was killed or crashed."
        if why and fail_run(run.pk, why):
            log.warning("training run #%s failed by the stale check: %s", run.pk, why)
            failed.append(run.pk)
    return failed


class RunReporter:
    """The worker's side of a running run: stage and per-epoch progress, a heartbeat thread (so long steps
    without epochs, such as image features, still beat), and the last lines of the run's log.

    Every write checks the run is still running and raises RunCancelled otherwise."""

    def __init__(self, run: TrainingRun, loggers=(), heartbeat_seconds: float | None = None, tail_lines: int = 40):
        self.run = run
        self.loggers = [logging.getLogger(name) for name in loggers]
        self.interval = float(heartbeat_seconds or _setting("REGISTRY_HEARTBEAT_SECONDS", 15))
        self.lines: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self._handler = _TailHandler(self.lines)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        for lg in self.loggers:
            lg.addHandler(self._handler)
        # A thread has its own connection; inside an atomic block (a test transaction) it could not see the run.
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{self.run.pk}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for lg in self.loggers:
            lg.removeHandler(self._handler)
        self.run.log_tail = self.tail()
        return False

    def _beat(self):
        try:
            while not self._stop.wait(self.interval):
                try:
                    heartbeat(self.run.pk)
                except Exception:  # noqa: BLE001 - a missed beat is not fatal; the next one may work
                    log.exception("heartbeat of run #%s failed", self.run.pk)
        finally:
            close_old_connections()
            connection.close()

    def tail(self) -> str:
        return "\n".join(self.lines)

    def stage(self, name: str, progress: float | None = None, **fields) -> None:
        log.info("run #%s: %s", self.run.pk, name)
        if progress is not None:
            fields["progress"] = min(max(float(progress), 0.0), 1.0)
        update_run(self.run, stage=name[:120], log_tail=self.tail(), **fields)

    def epoch(self, record: dict, progress: float, stage: str | None = None) -> None:
        losses = list(self.run.losses or []) + [record]
        fields = dict(losses=losses, epoch=int(record.get("epoch", len(losses))),
                      epochs=int(record.get("epochs", 0)), progress=min(max(float(progress), 0.0), 1.0),
                      log_tail=self.tail())
        if stage:
            fields["stage"] = stage[:120]
        update_run(self.run, **fields)


class _TailHandler(logging.Handler):
    def __init__(self, lines):
        super().__init__(logging.INFO)
        self.lines = lines
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record):
        try:
            self.lines.append(self.format(record)[:500])
        except Exception:  # noqa: BLE001
            self.handleError(record)


def execute_run(kind: str, run_id: int, work, *, task_id: str = "", loggers=()) -> str:
    """A worker's whole part in one run: claim it, call ``work(run, reporter)`` inside a RunReporter (which returns
    the outcome in one sentence), then finish the run, or fail it with the exception (its candidate versions too;
    the serving version is untouched). Idempotent: a run that is not queued is left alone. Returns the outcome."""
    fail_stale_runs(kind)
    run = claim_run(run_id, task_id=task_id)
    if run is None:
        status = TrainingRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
        log.info("%s run #%s is %s, not queued: nothing to do", kind, run_id, status or "missing")
        return f"run #{run_id} is {status or 'missing'}; nothing to do"
    reporter = RunReporter(run, loggers=loggers)
    try:
        with reporter:
            outcome = work(run, reporter)
    except RunCancelled as exc:
        log.warning("%s run #%s stopped: %s", kind, run_id, exc)
        return f"run #{run_id} stopped: {exc}"
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run; the serving model is untouched
        log.exception("%s run #%s failed", kind, run_id)
        fail_run(run, f"{exc.__class__.__name__}: {exc}", log_tail=reporter.tail())
        return f"run #{run_id} failed: {exc}"
    finish_run(run, outcome)
    log.info("%s run #%s: %s", kind, run_id, outcome)
    return outcome


# ------------------------------------------------------------------------------------------------- versions
def serving_version(kind: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.SERVING).first()


def create_version(kind: str, *, run: TrainingRun | None = None, engine: str = "", engine_config=None,
                   data_start=None, data_end=None, device: str = "", duration_seconds=None,
                   metrics=None) -> ModelVersion:
    return ModelVersion.objects.create(kind=kind, run=run, engine=engine, engine_config=engine_config or {},
                                       data_start=data_start, data_end=data_end, device=device,
                                       duration_seconds=duration_seconds, metrics=metrics or {})


def store_artifact(version: ModelVersion, data: bytes) -> str:
    """Write the artifact bytes to the configured storage and record their sha256. Returns the storage name."""
    digest = hashlib.sha256(data).hexdigest()
    name = artifact_storage().save(f"registry/{version.kind}/{version.pk:06d}-{digest[:16]}.bin", ContentFile(data))
    version.artifact, version.artifact_sha256, version.artifact_bytes = name, digest, len(data)
    version.save(update_fields=["artifact", "artifact_sha256", "artifact_bytes"])
    return name


def load_artifact(version: ModelVersion) -> bytes:
    """The artifact bytes, checked against the recorded sha256."""
    if not version.artifact:
        raise ArtifactIntegrityError(f"{version.kind} {version.label} has no stored artifact")
    try:
        with artifact_storage().open(version.artifact, "rb") as fh:
            data = fh.read()
    except Exception as exc:  # noqa: BLE001 - a missing file, an unreachable bucket (botocore errors are no OSError)
        raise ArtifactIntegrityError(f"artifact {version.artifact} cannot be read: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != version.artifact_sha256:
        raise ArtifactIntegrityError(f"artifact {version.artifact} is corrupt: sha256 {digest[:12]}... does not "
                                     f"match the recorded {version.artifact_sha256[:12]}...")
    return data


def _lock_run_and_versions(version: ModelVersion):
    """Lock in one order everywhere: the run row first, then version rows by primary key."""
    if version.run_id:
        TrainingRun.objects.select_for_update().filter(pk=version.run_id).first()
    return list(ModelVersion.objects.select_for_update()
                .filter(Q(pk=version.pk) | Q(kind=version.kind, status=ModelVersion.Status.SERVING)).order_by("pk"))


def promote(version: ModelVersion, reason: str = "") -> ModelVersion | None:
    """Make ``version`` the serving one for its kind, retiring the previous one, in one transaction.
    Returns the version it replaced (or None). Refuses when its run is no longer running."""
    now = timezone.now()
    with transaction.atomic():
        rows = _lock_run_and_versions(version)
        current = next(v for v in rows if v.pk == version.pk)
        if current.status != ModelVersion.Status.CANDIDATE:
            raise RegistryError(f"{version} is {current.status}, only a candidate can be promoted")
        if version.run_id and not TrainingRun.objects.filter(pk=version.run_id,
                                                             status=TrainingRun.Status.RUNNING).exists():
            raise RunCancelled(f"run #{version.run_id} is no longer running; {version.label} is not promoted")
        previous = next((v for v in rows if v.status == ModelVersion.Status.SERVING), None)
        if previous is not None:
            ModelVersion.objects.filter(pk=previous.pk).update(status=ModelVersion.Status.RETIRED, retired_at=now)
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.SERVING, promoted_at=now,
                                                          reason=reason)
    version.refresh_from_db()
    return previous


def reject(version: ModelVersion, reason: str) -> None:
    n = ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.CANDIDATE).update(
        status=ModelVersion.Status.REJECTED, reason=reason)
    version.refresh_from_db()
    if not n:
        raise RegistryError(f"{version} is {version.status}, only a candidate can be rejected")


def fail_version(version: ModelVersion, reason: str) -> None:
    ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.CANDIDATE).update(
        status=ModelVersion.Status.FAILED, reason=reason)
    version.refresh_from_db()


def prune_artifacts(kind: str, keep: int | None = None) -> int:
    """Delete the artifact files of all but the ``keep`` newest non-serving versions (records stay)."""
    keep = _setting("REGISTRY_KEEP_ARTIFACTS", 10) if keep is None else keep
    old = (ModelVersion.objects.filter(kind=kind).exclude(status=ModelVersion.Status.SERVING).exclude(artifact="")
           .order_by("-created_at", "-pk")[keep:])
    n = 0
    for v in list(old):
        try:
            artifact_storage().delete(v.artifact)
        except Exception:  # noqa: BLE001 - a file already gone is fine
            log.warning("could not delete artifact %s", v.artifact, exc_info=True)
        ModelVersion.objects.filter(pk=v.pk).update(artifact="")
        n += 1
    return n
