"""Published forecasts: daily rows (p10/p50/p90 per product and day) and one summary row per product.

Forecasts are published as a whole (a ``Publication``): rows are written while it is ``writing`` (invisible to
readers), then one short transaction makes it ``live`` and the previous one ``superseded``. Readers only ever
look at the live publication, so they never see half a forecast. The previous publication is kept until the
next one goes live, so a reader that fetched the live publication's id just before a swap still finds its rows.
"""
from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q

from registry.models import ModelVersion, PublicationBase


class Publication(PublicationBase):
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="forecast_publications")
    as_of = models.DateField(help_text="Last day of history; the forecast starts the day after")
    horizon = models.PositiveSmallIntegerField(default=45)
    n_products = models.PositiveIntegerField(default=0)
    n_rows = models.PositiveIntegerField(default=0)
    parameters = models.JSONField(default=dict, blank=True, help_text="Lead time, service level, ... used")

    def __str__(self):
        return f"forecast of {self.as_of} by {self.version.label if self.version_id else '?'} ({self.status})"

    @property
    def first_day(self):
        return self.as_of + timedelta(days=1)

    @property
    def last_day(self):
        return self.as_of + timedelta(days=self.horizon)


class Forecast(models.Model):
    """One product, one day: the 10th, 50th and 90th percentile of units sold."""

    # Bulk rows (450,000 for 10,000 products): no index of their own (every read goes through the unique index
    # (publication, product, date)) and no database foreign-key checks, which cost 80% of a COPY's time
    # (benchmarks/forecasting/bench_publish.py). Only forecasting.publish writes them, with product ids it has
    # just checked; deleting a product or a publication still deletes its rows (on_delete, in the ORM).
    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="rows", db_index=False,
                                    db_constraint=False)
    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+", db_index=False,
                                db_constraint=False)
    date = models.DateField()
    p10 = models.FloatField()
    p50 = models.FloatField()
    p90 = models.FloatField()

    class Meta:
        ordering = ["publication", "product", "date"]
        constraints = [
            models.UniqueConstraint(fields=["publication", "product", "date"], name="forecast_one_row_per_day"),
            models.CheckConstraint(condition=Q(p10__gte=0) & Q(p10__lte=models.F("p50")) & Q(p50__lte=models.F("p90")),
                                   name="forecast_quantiles_ordered"),
        ]


class ProductForecast(models.Model):
    """The 45 days of one product summed up, with the stock projected against them."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="summaries")
    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+")
    stock = models.IntegerField(help_text="Stock when the forecast was published")
    units = models.FloatField(help_text="Forecast units (p50) over the horizon")
    units_p10 = models.FloatField()
    units_p90 = models.FloatField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2, help_text="p50 units x that day's price")
    stockout_date = models.DateField(null=True, blank=True, help_text="Stock runs out (cumulative p50)")
    stockout_date_pessimistic = models.DateField(null=True, blank=True, help_text="Stock runs out (cumulative p90)")
    days_of_cover = models.FloatField(null=True, blank=True, help_text="Stock / mean daily p50")
    reorder_qty = models.PositiveIntegerField(default=0)
    cold_start = models.BooleanField(default=False, help_text="Little or no sales history: forecast from photo, "
                                                              "text and category")
    history_days = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["publication", "product"]
        verbose_name = "product forecast"
        constraints = [models.UniqueConstraint(fields=["publication", "product"], name="one_summary_per_product")]

    def __str__(self):
        return f"{self.product_id} ({self.publication_id})"


class ForecastModel(ModelVersion):
    """The forecaster's model versions, for the admin's "models" page (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "forecast model"
        verbose_name_plural = "forecast models"
        permissions = [("retrain_forecastmodel", "Can start (and cancel) forecast training runs")]
