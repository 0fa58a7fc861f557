"""Slot renderers (``SHOP_SLOTS``): "Recommended for you" on the home page, "Customers also bought" on the
product page, "You may also like" in the cart. Each picks its products (``results``), logs one impression through
the storefront's event log (``shop.events``: buffered, no query) and renders ``recommender/slot.html``, whose
links carry the label that makes a click countable. Web process only: no engine, no torch.

A rendered slot is kept in the process (see ``_show``) and shown again while nothing it depends on changed, so a
slot on a page served from the shop's page cache costs no query; its impression is logged on every request."""
from __future__ import annotations

import threading
from collections import OrderedDict

from django.conf import settings
from django.template.loader import render_to_string

from shop import events, versions
from shop.models import Event

from . import results
from .experiment import CONTROL, SOURCE, arm

TITLES = {"home": "Recommended for you", "product": "Customers also bought", "cart": "You may also like"}


# Rendered slots kept per process, keyed on everything that decides what they show: the slot and the visitor's
# arm, whose list it is (the customer, the session's products, the product, the cart's products), the live
# publication, the shop's "lists" change counter (a product's availability, name, price, photo or promotion, the
# popularity order: shop.versions) and the day. The impression is logged on every request, kept or not.
# SHOP_PAGE_CACHE=false keeps nothing.
KEPT_SLOTS = 20_000


class _Kept:
    def __init__(self):
        self.lock = threading.Lock()
        self.items: OrderedDict = OrderedDict()

    def get(self, key):
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > KEPT_SLOTS:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_kept = _Kept()


def clear_kept() -> None:
    _kept.clear()


def _show(request, slot: str, whose: tuple, pick, title=None) -> str:
    """The slot's HTML: kept, or picked (``pick() -> (Shown, title)``) and rendered; its impression logged."""
    keep = settings.SHOP_PAGE_CACHE
    key = None
    if keep:
        values = versions.current()  # before reading: a change after this point is seen by the next request
        key = (slot, whose, results.live_key(), values.get(versions.LISTS, 0), versions.today())
        hit = _kept.get(key)
        if hit is not None:
            return _log_and_return(request, *hit)
    shown, title = pick()
    if not shown.products:
        kept = ("", "", [])
    else:
        ref = str(shown.ref)
        html = render_to_string("recommender/slot.html", {
            "slot": slot, "title": title or TITLES[slot], "products": shown.products, "ref": ref, "source": SOURCE,
        })
        kept = (html, ref, [p.pk for p in shown.products])
    if keep:
        _kept.put(key, kept)
    return _log_and_return(request, *kept)


def _log_and_return(request, html: str, ref: str, items: list) -> str:
    if items:
        events.log(request, Event.Kind.IMPRESSION, source=SOURCE, quantity=len(items),
                   data={"ref": ref, "items": items})
    return html


def home(request, context) -> str:
    a = arm(events.visitor_id(request))
    user = request.user.pk if request.user.is_authenticated else None
    whose = (a,) if a == CONTROL else (a, user, tuple(events.recent_products(request)[:results.SESSION_SOURCES]))
    # the page's own lists are the same for everyone under the "lists" counter that keys a kept slot
    on_page = (context or {}).get("page_products") or ()
    return _show(request, "home", whose, lambda: (results.for_home(request, on_page), None))


def product(request, context) -> str:
    prod = context.get("product")
    if prod is None:
        return ""

    def pick():
        shown = results.for_product(request, prod)
        related = shown.ref.basis == "related" and shown.basis != "content"
        return shown, TITLES["product"] if related else "You may also like"

    return _show(request, "product", (arm(events.visitor_id(request)), prod.pk), pick)


def cart(request, context) -> str:
    summary = context.get("summary")
    rows = getattr(summary, "rows", None) or []
    ids = [row.product.pk for row in rows]
    return _show(request, "cart", (arm(events.visitor_id(request)), tuple(ids)),
                 lambda: (results.for_cart(request, ids), None))
