"""The dashboard's numbers equal hand counts: impressions, clicks, attribution within the window, conversion,
revenue per visitor, the 95 % intervals and the lift."""
from __future__ import annotations

import math

import pytest

from recommender import report, stats

from . import abstory

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(catalog):
    abstory.write(catalog)
    return report.build(report.Period.last(7), minutes=60)


def arm(rep, slot, name):
    return next(s for s in rep["slots"] if s["slot"] == slot)["arms"][name]


def counts(a):
    return {k: a[k] for k in ("visitors", "impressions", "clicks", "add_to_carts", "purchases", "buyers", "revenue")}


def test_counts_per_slot_and_arm_equal_the_hand_counts(story):
    assert counts(arm(story, "home", "model")) == dict(visitors=3, impressions=6, clicks=3, add_to_carts=1,
                                                      purchases=1, buyers=1, revenue=20.0)
    assert counts(arm(story, "home", "control")) == dict(visitors=2, impressions=4, clicks=1, add_to_carts=1,
                                                        purchases=0, buyers=0, revenue=0.0)
    assert counts(arm(story, "product", "model")) == dict(visitors=1, impressions=1, clicks=1, add_to_carts=0,
                                                         purchases=1, buyers=1, revenue=5.0)
    assert counts(arm(story, "product", "control"))["visitors"] == 0
    assert counts(arm(story, "cart", "model"))["impressions"] == 0
    assert counts(arm(story, report.ALL, "model")) == dict(visitors=3, impressions=7, clicks=4, add_to_carts=1,
                                                          purchases=2, buyers=1, revenue=25.0)


def test_rates_and_intervals_equal_hand_computations(story):
    m, c = arm(story, "home", "model")["estimates"], arm(story, "home", "control")["estimates"]
    assert m["ctr"].value == pytest.approx(0.5) and c["ctr"].value == pytest.approx(0.25)
    # delta method over visitors (clicks, impressions) = a (1, 3), b (2, 2), c (0, 1):
    # var(y) = 1, var(x) = 1, cov = 0.5, R = 0.5 -> Var(R) = (1 - 2*.5*.5 + .25*1) / (3 * 2^2) = 0.0625
    assert (m["ctr"].low, m["ctr"].high) == pytest.approx((0.5 - 1.959964 * 0.25, 0.5 + 1.959964 * 0.25))
    assert m["add_to_cart_rate"].value == pytest.approx(1 / 6)
    # conversion 1 of 3 visitors, Wilson interval
    assert m["conversion"].value == pytest.approx(1 / 3)
    assert (m["conversion"].low, m["conversion"].high) == pytest.approx((0.06149, 0.79234), abs=1e-4)
    # revenue per visitor: (20, 0, 0) -> mean 6.667, sd 11.547, half-width 1.96 * 11.547 / sqrt(3)
    assert m["revenue_per_visitor"].value == pytest.approx(20 / 3)
    half = 1.959964 * math.sqrt(400 / 3 / 3)
    assert (m["revenue_per_visitor"].low, m["revenue_per_visitor"].high) == pytest.approx((0.0, 20 / 3 + half))
    # (the normal interval's lower end, 20/3 - half < 0, is cut at 0: revenue cannot be negative)
    assert c["conversion"].value == 0 and c["conversion"].low == 0


def test_lift_and_its_interval(story):
    home = next(s for s in story["slots"] if s["slot"] == "home")
    lift = home["lift"]["ctr"]
    assert lift.value == pytest.approx(1.0)  # 0.5 / 0.25 - 1
    m, c = arm(story, "home", "model")["estimates"]["ctr"], arm(story, "home", "control")["estimates"]["ctr"]
    se = math.sqrt(m.var / 0.25 + c.var / 0.0625)
    assert (lift.low, lift.high) == pytest.approx((2 * math.exp(-1.959964 * se) - 1, 2 * math.exp(1.959964 * se) - 1))
    assert home["lift"]["conversion"].value is None  # control converts nobody: no ratio


def test_a_longer_window_credits_the_late_add_to_cart(story):
    rep = report.build(report.Period.last(7), minutes=120)
    assert arm(rep, "home", "model")["add_to_carts"] == 2
    assert arm(rep, "home", "model")["purchases"] == 1  # b's order came 168 minutes after the click


def test_degenerate_rates_get_an_honest_interval_and_revenue_never_a_negative_bound():
    none = stats.ratio([0, 0, 0], [2, 1, 1])             # 0 clicks in 4 impressions over 3 visitors
    assert none.value == 0 and (none.low, none.high) == pytest.approx((0.0, 0.4899), abs=1e-4)
    same = stats.ratio([1, 1], [2, 2])                   # every visitor at 50 %: no spread to estimate from
    assert (same.low, same.high) == pytest.approx((0.1500, 0.8500), abs=1e-4)
    rpv = stats.mean([0, 0, 0, 30.0])
    assert rpv.low == 0.0 and rpv.high > 7.5


def test_interval_helpers_on_known_values():
    assert stats.proportion(0, 0).value is None
    p = stats.proportion(5, 10)
    assert (p.low, p.high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert stats.ratio([1], [2]).low is None and stats.ratio([], []).value is None
    assert stats.lift(stats.Estimate(0.2, None, None, 0.001), stats.Estimate(0.1, None, None, 0.001)).value == \
        pytest.approx(1.0)
