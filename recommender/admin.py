"""The recommendations dashboard, inside the Django admin (staff only): the A/B results per slot and arm (with
95 % intervals and the lift), the serving model and its gate, the live publication, every training run with
"Retrain now" and live progress, and a JSON status (``status.json``)."""
from __future__ import annotations

from django.contrib import admin

from registry.admin import TrainingAdmin

from . import dashboard, jobs, report
from .models import KIND, RecommenderModel

MAX_DAYS = 366


def _days(request) -> int | None:
    try:
        days = int(request.GET.get("days", ""))
    except ValueError:
        return None
    return min(max(days, 1), MAX_DAYS)


@admin.register(RecommenderModel)
class RecommenderModelAdmin(TrainingAdmin):
    """The dashboard page replaces the changelist of the recommender's model versions."""

    kind = KIND
    page_template = "admin/recommender/dashboard.html"
    page_title = "Recommendations"

    def page_context(self, request):
        data = dashboard.ab_report(_days(request))
        return {"report": data, "ab": dashboard.ab_rows(data), "metric_names": [n for _, n in report.METRICS],
                "days": (data["end"] - data["start"]).days + 1, **dashboard.models_context()}

    def request_training(self, request):
        return jobs.request_training(user=request.user)

    def status_json(self, request):
        return dashboard.status_json(_days(request))
