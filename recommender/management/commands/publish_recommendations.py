"""Publish the serving model's recommendations again (today's catalog and stock), in bulk, swapped atomically."""
from __future__ import annotations

from recommender import services
from registry.commands import PublishCommand


class Command(PublishCommand):
    help = ("Recompute every customer's and product's recommendations with the serving model and publish them "
            "(skipped when they were published today, unless --force).")
    force_help = "publish again even if published today"
    unchanged = "the live recommendations are unchanged"
    train_command = "train_recommender"

    def publish(self, **opts):
        return services.publish_serving(force=opts["force"])

    def describe(self, pub) -> str:
        return (f"Live: {pub.n_customers} customers ({pub.n_customer_items} recommendations), {pub.n_products} "
                f"products ({pub.n_product_items} related) by {pub.version.label} (publication #{pub.pk}, published "
                f"{pub.published_at:%Y-%m-%d %H:%M}).")
