"""Publish the serving model's 45-day forecast for every active product (bulk, swapped in atomically)."""
from __future__ import annotations

from datetime import date

from forecasting import services
from registry.commands import PublishCommand


class Command(PublishCommand):
    help = "Forecast every active product with the serving model from --as-of (default yesterday) and publish it."
    force_help = "publish again even if this forecast is live"
    unchanged = "the live forecast is unchanged"
    train_command = "train_forecaster"

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                            help="last day of data (YYYY-MM-DD); the forecast starts the day after")
        super().add_arguments(parser)

    def publish(self, **opts):
        return services.publish_serving(opts["as_of"], force=opts["force"])

    def describe(self, pub) -> str:
        return (f"Live: {pub.n_products} products x {pub.horizon} days from {pub.first_day} by {pub.version.label} "
                f"(publication #{pub.pk}, published {pub.published_at:%Y-%m-%d %H:%M}).")
