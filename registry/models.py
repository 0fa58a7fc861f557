"""Model versions and training runs, for any kind of model (the forecaster, the recommender, ...).

Two database constraints carry the rules that must hold under concurrency:
- at most one *serving* version per kind (promotion swaps it in one transaction);
- at most one *active* (queued or running) training run per kind (a second request fails to insert).
"""
from __future__ import annotations

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.utils import timezone


def artifact_storage():
    """The storage artifacts live in: ``STORAGES[REGISTRY_STORAGE]`` (the media storage unless configured),
    looked up at each use so a changed setting applies at once."""
    return storages[getattr(settings, "REGISTRY_STORAGE", "default")]


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Retrain button"
        SCHEDULE = "schedule", "Nightly schedule"
        COMMAND = "command", "Management command"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    config = models.JSONField(default=dict, blank=True, help_text="Engine options requested for this run")
    progress = models.FloatField(default=0.0, help_text="0 to 1")
    stage = models.CharField(max_length=120, blank=True)
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    losses = models.JSONField(default=list, blank=True, help_text="One record per epoch")
    log_tail = models.TextField(blank=True, help_text="The last lines of the run's log")
    summary = models.TextField(blank=True, help_text="Outcome in one sentence (promoted, rejected and why)")
    error = models.TextField(blank=True)
    device = models.CharField(max_length=40, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    worker_pid = models.IntegerField(null=True, blank=True)
    task_id = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(status__in=["queued", "running"]),
                                    name="registry_one_active_run_per_kind"),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1),
                                   name="registry_run_progress_0_1"),
        ]

    def __str__(self):
        return f"{self.kind} run #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        SERVING = "serving", "Serving"
        RETIRED = "retired", "Retired"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    run = models.ForeignKey(TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions")
    engine = models.CharField(max_length=120, blank=True, help_text="Engine name and artifact format")
    engine_config = models.JSONField(default=dict, blank=True)
    data_start = models.DateField(null=True, blank=True, help_text="First day of data it was trained on")
    data_end = models.DateField(null=True, blank=True, help_text="Last day of data it was trained on")
    metrics = models.JSONField(default=dict, blank=True, help_text="Backtest metrics, against the baselines")
    reason = models.TextField(blank=True, help_text="Why it was promoted, rejected or failed")
    artifact = models.CharField(max_length=300, blank=True, help_text="File name in the artifact storage")
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    artifact_bytes = models.BigIntegerField(null=True, blank=True)
    device = models.CharField(max_length=40, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True, help_text="Training time")
    created_at = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "status"])]
        constraints = [models.UniqueConstraint(fields=["kind"], condition=Q(status="serving"),
                                               name="registry_one_serving_version_per_kind")]

    def __str__(self):
        return f"{self.kind} v{self.pk} ({self.status})"

    @property
    def label(self) -> str:
        return f"v{self.pk}"


class PublicationBase(models.Model):
    """An ML app's published results as a whole (registry.publish): rows are written while it is ``writing``
    (invisible to readers), then one short transaction makes it ``live`` and the previous one ``superseded``.
    Subclasses add ``version`` (a ForeignKey to ModelVersion) and their own counts."""

    class Status(models.TextChoices):
        WRITING = "writing", "Writing"
        LIVE = "live", "Live"
        SUPERSEDED = "superseded", "Superseded"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WRITING)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text="Time taken to write it")

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["status"], condition=Q(status="live"),
                                               name="%(app_label)s_one_live_publication")]
