"""Simulated shoppers of the last weeks who see the recommendation slots and click by their tastes (demo only)."""
from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from recommender import simulation
from recommender.experiment import SOURCE
from shop.models import Event


class Command(BaseCommand):
    help = ("Demo data for the recommendations dashboard: SIMULATED visits of the last weeks that see the slots "
            "(with the live recommendations and the A/B split), click by the shoppers' tastes, add to cart and buy. "
            "See recommender/simulation.py for the assumptions.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=21)
        parser.add_argument("--visits", type=int, default=100, help="visits per day")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when recommendation impressions were already logged")

    def handle(self, *args, **opts):
        if opts["if_empty"] and Event.objects.filter(kind=Event.Kind.IMPRESSION, source=SOURCE).exists():
            self.stdout.write("Recommendation impressions exist already; no shoppers simulated.")
            return
        with transaction.atomic():
            out = simulation.simulate(days=opts["days"], visits=opts["visits"], seed=opts["seed"])
        self.stdout.write(self.style.SUCCESS(
            f"Simulated {out.visits} visits over {opts['days']} days: {out.impressions} impressions, {out.clicks} "
            f"clicks, {out.add_to_carts} add-to-carts, {out.orders} orders (all simulated)."))
