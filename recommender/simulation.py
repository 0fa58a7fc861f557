"""Simulated shoppers for the demo shop, so its dashboard has something to show. **Everything this module writes
is simulated** (the demo's history is too): it is not a measurement of real people.

For each of the last ``days`` days, ``visits`` visits at random times. About 60 % are demo customers who sign in
(each keeps one visitor id, so their A/B arm is stable), the others anonymous visitors who first look at one or two
products of a category they like. Each visit goes through the storefront's own choice of products
(``recommender.results``: the same A/B split, the same published rows, the same popularity fallback as the live
slots, using the publication that is live *now* for the past days too):

1. the home page slot is shown (an impression);
2. the shopper clicks at most one product of a slot, each in turn with probability ``BASE_CTR * position bias *
   taste``; taste (0.3 to 3) grows with the share of the shopper's own history (the last 120 days of views, carts
   and purchases; for an anonymous visitor, the products just viewed) in the product's category (x2) and its
   department (x0.7), so shoppers click what resembles what they did before -- this assumption, not a
   measurement, is what makes the model arm win in the demo;
3. the shopper adds a clicked product to the cart with probability ``CART_GIVEN_CLICK * taste`` and buys it with
   ``BUY_GIVEN_CART``; the page they are on next (the product's page, or the cart after an add) shows its slot,
   which may get the next click (three at most).

Impressions, clicks (product views through a recommendation link) and add-to-carts go through the storefront's
event writer (``shop.events.write``); purchases are recorded as delivered historic orders (``shop.imports``, no
stock change), with the visitor id, so attribution sees them like a real checkout.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from shop import analytics, events, imports
from shop.models import Event

from . import inputs, results
from .experiment import SOURCE

log = logging.getLogger(__name__)
BASE_CTR = 0.012
POSITION_DECAY = 0.25     # position bias 1 / (1 + 0.25 * position)
CART_GIVEN_CLICK = 0.2
BUY_GIVEN_CART = 0.6
SIGNED_IN_SHARE = 0.6
TASTE_DAYS = 120


@dataclass
class Outcome:
    visits: int = 0
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    orders: int = 0
    events: list = field(default_factory=list, repr=False)
    sales: list = field(default_factory=list, repr=False)


class Shoppers:
    def __init__(self, end: date, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        start = end - timedelta(days=TASTE_DAYS - 1)
        inter = inputs.interactions(start, end)
        items = analytics.catalog_items(active_only=True)
        self.leaf = dict(zip(items["item_id"].astype(int), items["category_path"]))
        self.top = {k: v.split("/")[0] for k, v in self.leaf.items()}
        self.price = dict(zip(items["item_id"].astype(int), items["price"].astype(float)))
        self.sku = dict(zip(items["item_id"].astype(int), items["sku"]))
        inter = inter[inter["user_id"] != ""]
        inter = inter.assign(item=inter["item_id"].astype(int), user=inter["user_id"].astype(int))
        inter = inter[inter["item"].isin(self.leaf)]
        self.history = {u: g["item"].to_numpy() for u, g in inter.groupby("user")}
        self.customers = np.array(sorted(self.history), dtype=np.int64)
        pop = inter.groupby("item").size()
        self.items = np.array(list(self.leaf), dtype=np.int64)
        weights = pop.reindex(self.items).fillna(0).to_numpy(float) + 1.0
        self.item_p = weights / weights.sum()

    def visitor_of(self, user_id: int) -> str:
        return hashlib.sha256(f"simulated-customer:{self.seed}:{user_id}".encode()).hexdigest()[:32]

    def taste(self, seen: np.ndarray, product_id: int) -> float:
        if len(seen) == 0:
            return 1.0
        leaf = np.mean([self.leaf.get(int(s)) == self.leaf.get(product_id) for s in seen])
        top = np.mean([self.top.get(int(s)) == self.top.get(product_id) for s in seen])
        return 0.3 + 2.0 * leaf + 0.7 * top


def _at(day: date, seconds: float) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone()) + timedelta(seconds=seconds)


def _record(out: Outcome, kind, at, vid, user_id, product_id=None, source="", quantity=1, data=None):
    out.events.append({"kind": kind, "at": at.isoformat(), "session_key": vid, "user_id": user_id,
                       "product_id": product_id, "quantity": quantity, "source": source, "query": "",
                       "data": data})


def _show(out: Outcome, shown: results.Shown, at, vid, user_id) -> list:
    if not shown.products:
        return []
    out.impressions += 1
    _record(out, Event.Kind.IMPRESSION, at, vid, user_id, source=SOURCE, quantity=len(shown.products),
            data={"ref": str(shown.ref), "items": [p.pk for p in shown.products]})
    return shown.products


def _click(sim: Shoppers, products: list, seen: np.ndarray) -> object | None:
    for pos, p in enumerate(products):
        prob = BASE_CTR / (1 + POSITION_DECAY * pos) * sim.taste(seen, p.pk)
        if sim.rng.random() < min(prob, 0.9):
            return p
    return None


def visit(sim: Shoppers, out: Outcome, day: date, n: int) -> None:
    rng = sim.rng
    signed_in = len(sim.customers) and rng.random() < SIGNED_IN_SHARE
    t = float(rng.uniform(8 * 3600, 22 * 3600))
    if signed_in:
        user_id = int(rng.choice(sim.customers))
        vid, seen, recent = sim.visitor_of(user_id), sim.history[user_id], []
        user = SimpleNamespace(is_authenticated=True, pk=user_id)
    else:
        user_id, user = None, AnonymousUser()
        vid = hashlib.sha256(f"simulated-visitor:{sim.seed}:{day}:{n}".encode()).hexdigest()[:32]
        first = int(rng.choice(sim.items, p=sim.item_p))
        same = [i for i in sim.items if sim.leaf[int(i)] == sim.leaf[first] and i != first]
        recent = [first] + ([int(rng.choice(same))] if same and rng.random() < 0.5 else [])
        for pid in reversed(recent):
            _record(out, Event.Kind.VIEW, _at(day, t), vid, None, pid, source="list")
            t += rng.uniform(20, 120)
        recent = list(reversed(recent))
        seen = np.array(recent, dtype=np.int64)
    request = SimpleNamespace(COOKIES={}, user=user, _visitor_id=vid, _recent_products=list(recent))
    out.visits += 1
    shown = results.for_home(request)
    products, slot_shown = _show(out, shown, _at(day, t), vid, user_id), shown.ref
    cart: list[int] = []
    for step in range(3):  # at most three clicks: from home, then from the page or the cart it led to
        chosen = _click(sim, products, seen)
        if chosen is None:
            return
        t += rng.uniform(5, 60)
        out.clicks += 1
        _record(out, Event.Kind.VIEW, _at(day, t), vid, user_id, chosen.pk, source=SOURCE,
                data={"ref": str(slot_shown)})
        request._recent_products = [chosen.pk] + [p for p in request._recent_products if p != chosen.pk]
        if rng.random() < CART_GIVEN_CLICK * sim.taste(seen, chosen.pk):
            t += rng.uniform(10, 120)
            out.add_to_carts += 1
            _record(out, Event.Kind.CART_ADD, _at(day, t), vid, user_id, chosen.pk, source=SOURCE)
            cart.append(chosen.pk)
            if rng.random() < BUY_GIVEN_CART:
                out.orders += 1
                out.sales.append(imports.SaleLine(
                    line=len(out.sales) + 1, at=_at(day, t + rng.uniform(60, 900)), sku=sim.sku[chosen.pk],
                    quantity=1, unit_price=Decimal(f"{sim.price[chosen.pk]:.2f}"), customer="",
                    order_ref=f"SIM-{day:%Y%m%d}-{n:05d}-{step}-{vid[:6]}", visitor=vid, user_id=user_id))
            shown = results.for_cart(request, cart)
        else:
            shown = results.for_product(request, chosen)
        t += rng.uniform(2, 20)
        products, slot_shown = _show(out, shown, _at(day, t), vid, user_id), shown.ref


def simulate(days: int = 21, visits: int = 100, seed: int = 0, end: date | None = None) -> Outcome:
    """Simulate ``visits`` visits a day over the ``days`` days ending ``end`` (default yesterday) and write them."""
    end = end or timezone.localdate() - timedelta(days=1)
    sim = Shoppers(end, seed)
    out = Outcome()
    for k in range(days):
        day = end - timedelta(days=days - 1 - k)
        for n in range(visits):
            visit(sim, out, day, n)
    events.write(out.events)
    if out.sales:
        imports.load_sales(imports.SalesBatch(out.sales, skipped=Counter(), rows=len(out.sales)))
    log.info("simulated %d visits: %d impressions, %d clicks, %d add-to-carts, %d orders", out.visits,
             out.impressions, out.clicks, out.add_to_carts, out.orders)
    return out
