"""The demo's simulated shoppers go through the live slots' choices and write what the dashboard reads."""
from __future__ import annotations

import pytest
from django.core.management import call_command

from recommender import report, simulation
from shop.models import Event, Order

from . import shopdata

pytestmark = pytest.mark.django_db


def test_simulated_visits_are_written_and_counted(settings, publish_rows):
    settings.RECOMMENDER_CONTROL_SHARE = 0.3
    shop = shopdata.build(n_customers=10, days=30)
    mugs, lamps = shop["products"]["mug"], shop["products"]["lamp"]
    publish_rows(customers={u: mugs[:5] for u in shop["customers"]["mug"]},
                 related={p: [q for q in mugs if q != p][:4] for p in mugs} | {p: lamps[:4] for p in lamps})
    out = simulation.simulate(days=3, visits=40, seed=1)
    assert out.visits == 120 and out.impressions >= 120 and out.clicks > 0
    imps = Event.objects.filter(kind=Event.Kind.IMPRESSION, source="recommendation")
    assert imps.count() == out.impressions
    assert Event.objects.filter(kind=Event.Kind.VIEW, source="recommendation").count() == out.clicks
    assert Order.objects.filter(number__startswith="SIM-").count() == out.orders
    assert all(len(o.session_key) == 32 for o in Order.objects.filter(number__startswith="SIM-"))
    rep = report.build(report.Period.last(5))
    every = next(s for s in rep["slots"] if s["slot"] == report.ALL)["arms"]
    assert every["model"]["impressions"] + every["control"]["impressions"] == out.impressions
    assert every["model"]["clicks"] + every["control"]["clicks"] == out.clicks
    assert every["control"]["visitors"] > 0                     # the split applies to simulated visitors too
    refs = {i.data["ref"].split(".")[3] for i in imps}
    assert {"personal", "popular"} <= refs


def test_the_command_runs_once(settings, publish_rows, capsys):
    shopdata.build(n_customers=4, days=10)
    call_command("simulate_shoppers", "--days", "1", "--visits", "5", "--if-empty")
    first = Event.objects.filter(kind=Event.Kind.IMPRESSION).count()
    assert first >= 5 and "all simulated" in capsys.readouterr().out
    call_command("simulate_shoppers", "--days", "1", "--visits", "5", "--if-empty")
    assert Event.objects.filter(kind=Event.Kind.IMPRESSION).count() == first
    assert "no shoppers simulated" in capsys.readouterr().out
