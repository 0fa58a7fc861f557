"""Read-only lists of every model version and training run, for any kind. The ML apps' own dashboards (e.g. the
forecast models page) add the actions, on ``TrainingAdmin``; records here are written only by registry.services."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from . import jobs
from . import services as registry
from .models import ModelVersion, TrainingRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "status", "data_end", "device", "duration", "size", "created_at", "promoted_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]

    @admin.display(description="training time")
    def duration(self, obj):
        return f"{obj.duration_seconds:.0f} s" if obj.duration_seconds is not None else "-"

    @admin.display(description="artifact")
    def size(self, obj):
        return filesizeformat(obj.artifact_bytes) if obj.artifact_bytes else "-"


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "status", "trigger", "progress_pct", "device", "worker_host", "created_at",
                    "finished_at"]
    list_filter = ["kind", "status", "trigger"]
    list_select_related = ["requested_by"]
    readonly_fields = [f.name for f in TrainingRun._meta.fields]

    @admin.display(description="progress")
    def progress_pct(self, obj):
        return f"{obj.progress * 100:.0f}%"


class TrainingAdmin(ReadOnlyAdmin):
    """An ML app's models page, on a proxy of ModelVersion for its ``kind``: the changelist is replaced by the app's
    dashboard (``page_template`` with ``page_context(request)``), with "Retrain now", "Cancel run" and a JSON status
    (the templates admin/registry/run_panel.html and runs_table.html, and registry/run_progress.js, show them).
    URL names are ``<app>_retrain``, ``<app>_cancel`` and ``<app>_status``; starting and cancelling runs takes the
    permission ``<app>.retrain_<model>``.

    Subclasses set ``kind``, ``page_template`` and ``page_title`` and implement ``page_context(request)``,
    ``request_training(request)`` (the app's request_training for this user) and ``status_json(request)``."""

    kind = ""
    page_template = ""
    page_title = ""

    def page_context(self, request) -> dict:
        raise NotImplementedError

    def request_training(self, request) -> TrainingRun:
        raise NotImplementedError

    def status_json(self, request) -> dict:
        raise NotImplementedError

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=self.kind)

    def can_retrain(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.retrain_{self.opts.model_name}")

    def get_urls(self):
        wrap, app = self.admin_site.admin_view, self.opts.app_label
        return [
            path("retrain/", wrap(require_POST(self.retrain_view)), name=f"{app}_retrain"),
            path("runs/<int:run_id>/cancel/", wrap(require_POST(self.cancel_view)), name=f"{app}_cancel"),
            path("status.json", wrap(self.status_view), name=f"{app}_status"),
            *super().get_urls(),
        ]

    def page_url(self) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": self.page_title,
                   "can_retrain": self.can_retrain(request), **self.page_context(request)}
        app, active = self.opts.app_label, context.get("active")
        context.update(retrain_url=reverse(f"admin:{app}_retrain"),
                       cancel_url=reverse(f"admin:{app}_cancel", args=[active.pk]) if active else "")
        return TemplateResponse(request, self.page_template, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(self.page_url())

    def retrain_view(self, request):
        if not self.can_retrain(request):
            raise PermissionDenied
        try:
            run = self.request_training(request)
        except registry.RunAlreadyActive as exc:
            messages.warning(request, str(exc))
        except jobs.NoWorker as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Training run #{run.pk} is queued; its progress shows below.")
        return HttpResponseRedirect(self.page_url())

    def cancel_view(self, request, run_id):
        if not self.can_retrain(request):
            raise PermissionDenied
        get_object_or_404(TrainingRun, pk=run_id, kind=self.kind)
        if registry.cancel_run(run_id, request.user):
            messages.success(request, f"Training run #{run_id} was cancelled; the serving model keeps serving.")
        else:
            messages.warning(request, f"Training run #{run_id} had already ended.")
        return HttpResponseRedirect(self.page_url())

    def status_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = JsonResponse(self.status_json(request))
        response["Cache-Control"] = "no-store"
        return response
