"""The forecast dashboard, inside the Django admin (staff only), linked from the admin index:

- "Product forecasts": every product of the live forecast, sortable by stock-out date, reorder quantity, units and
  value, filterable by category, searchable, with CSV export (of the filtered list);
- a product's forecast page: chart (server-rendered SVG) and table;
- "Forecast models": the serving model and its backtest, every training run, "Retrain now" with live progress.
"""
from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from registry import services as registry
from registry.admin import ReadOnlyAdmin, TrainingAdmin
from shop.models import Product

from . import dashboard, tasks
from .models import ForecastModel, ProductForecast, Publication
from .publish import live_publication
from .results import KIND


@admin.register(ProductForecast)
class ProductForecastAdmin(ReadOnlyAdmin):
    list_display = ["product_link", "category", "stock", "units_col", "revenue", "stockout", "stockout_p90", "cover",
                    "reorder_qty", "cold_start"]
    list_display_links = None
    list_filter = [("product__category", admin.RelatedOnlyFieldListFilter), "cold_start"]
    search_fields = ["product__name", "product__sku"]
    list_select_related = ["product", "product__category", "product__category__parent", "publication"]
    ordering = [F("stockout_date").asc(nulls_last=True), "product__name"]
    list_per_page = 50
    actions = None
    change_list_template = "admin/forecasting/productforecast/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(publication__status=Publication.Status.LIVE)

    @admin.display(description="product", ordering="product__name")
    def product_link(self, obj):
        url = reverse("admin:forecasting_product", args=[obj.product_id])
        return format_html('<a href="{}">{}</a><br><small>{}</small>', url, obj.product.name, obj.product.sku)

    @admin.display(description="category", ordering="product__category__name")
    def category(self, obj):
        return str(obj.product.category)

    @admin.display(description="units, 45 d (p10-p90)", ordering="units")
    def units_col(self, obj):
        return format_html("{} <small>({}-{})</small>", f"{obj.units:.0f}", f"{obj.units_p10:.0f}",
                           f"{obj.units_p90:.0f}")

    @admin.display(description="stock-out", ordering=F("stockout_date").asc(nulls_last=True))
    def stockout(self, obj):
        return obj.stockout_date.strftime("%d %b") if obj.stockout_date else "-"

    @admin.display(description="pessimistic", ordering=F("stockout_date_pessimistic").asc(nulls_last=True))
    def stockout_p90(self, obj):
        return obj.stockout_date_pessimistic.strftime("%d %b") if obj.stockout_date_pessimistic else "-"

    @admin.display(description="days of cover", ordering=F("days_of_cover").desc(nulls_first=True))
    def cover(self, obj):
        return "-" if obj.days_of_cover is None else f"{obj.days_of_cover:.0f}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("product/<int:product_id>/", wrap(self.product_view), name="forecasting_product"),
            path("export.csv", wrap(self.export_view), name="forecasting_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        pub = live_publication()
        extra = {"publication": pub, "serving": registry.serving_version(KIND),
                 "active_run": registry.active_run(KIND), "query": request.GET.urlencode()}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def product_view(self, request, product_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        product = get_object_or_404(Product.objects.select_related("category", "category__parent"), pk=product_id)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": f"Forecast: {product.name}", **dashboard.product_context(product)}
        return TemplateResponse(request, "admin/forecasting/product.html", context)

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = self.get_changelist_instance(request).get_queryset(request)
        stamp = timezone.localdate().isoformat()
        response = StreamingHttpResponse(dashboard.csv_lines(rows.iterator(chunk_size=2000)),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="forecast-{stamp}.csv"'
        return response


@admin.register(ForecastModel)
class ForecastModelAdmin(TrainingAdmin):
    """The models page: the changelist of the forecaster's versions, replaced by a dashboard of its own."""

    kind = KIND
    page_template = "admin/forecasting/models.html"
    page_title = "Forecast models"

    def page_context(self, request):
        return dashboard.models_context()

    def request_training(self, request):
        return tasks.request_training(user=request.user)

    def status_json(self, request):
        return dashboard.status_json()
