"""Published recommendations: per customer, the top N products; per product, the top N products "customers also
bought" (or, for a product nobody bought yet, its content neighbours). One row holds one ranked list.

Rows are published as a whole (a ``Publication``): written while it is ``writing`` (invisible to readers), then one
short transaction makes it ``live`` and the previous one ``superseded``. Readers only ever join the live
publication, so they never see half of one. The rows point at their publication, products and users without database
constraints (no per-row check while millions of rows are loaded; publish.py deletes a publication's rows itself,
and a deleted product simply drops out of the storefront's join), and the storefront
filters inactive and out-of-stock products when it reads, so stock that changes after publishing is respected.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from registry.models import ModelVersion, PublicationBase

KIND = "recommender"


class Publication(PublicationBase):
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="recommender_publications")
    n_customers = models.PositiveIntegerField(default=0)
    n_customer_items = models.PositiveIntegerField(default=0, help_text="Products recommended to customers, summed")
    n_products = models.PositiveIntegerField(default=0)
    n_product_items = models.PositiveIntegerField(default=0, help_text="Related products listed, summed")
    n_content_products = models.PositiveIntegerField(default=0, help_text="Products without purchases: their "
                                                                           "list comes from content neighbours")

    def __str__(self):
        return f"recommendations by {self.version.label if self.version_id else '?'} ({self.status})"


class CustomerRecommendation(models.Model):
    """The products recommended to a signed-in customer, best first (one row per customer: a list is always read
    whole, and 100,000 customers are 100,000 rows, not two million)."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, db_constraint=False, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    products = models.JSONField(help_text="Product ids, best first")
    scores = models.JSONField(help_text="The model's score of each, same order")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["publication", "user"], name="recommender_one_list_per_customer")]


class ProductRecommendation(models.Model):
    """The products shown with ``source``, best first: bought by the same customers, or (a product without
    purchases yet) its neighbours by content (text, category, price, photo)."""

    class Basis(models.TextChoices):
        BOUGHT = "bought", "Customers also bought"
        CONTENT = "content", "Similar by content"

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, db_constraint=False, related_name="+")
    source = models.ForeignKey("shop.Product", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    products = models.JSONField(help_text="Product ids, best first")
    scores = models.JSONField(help_text="The model's score of each, same order")
    basis = models.CharField(max_length=8, choices=Basis.choices, default=Basis.BOUGHT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["publication", "source"], name="recommender_one_list_per_product")]


class RecommenderModel(ModelVersion):
    """The recommender's model versions, for the admin's dashboard page (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "recommendations dashboard"
        verbose_name_plural = "recommendations dashboard"
        permissions = [("retrain_recommendermodel", "Can start (and cancel) recommender training runs")]
