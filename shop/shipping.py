"""Shipping methods behind one small interface, like shop/payments.py.

A method quotes a cost for a cart subtotal and a destination country, or None where it does not apply. Two are
built in and configured from settings:

    FlatRate             the same cost for every order (SHOP_SHIPPING_FLAT_RATE)
    FreeOverThreshold    free from a subtotal on (SHOP_FREE_SHIPPING_OVER), otherwise not offered

`methods()` lists the configured ones; `quotes(subtotal, country)` the ones a checkout may offer, cheapest
first; `quote(code, subtotal, country)` prices the one a shopper chose (raising ShippingError if it does not
apply), so the total of an order is always computed on the server. Countries are limited to
SHOP_SHIP_TO_COUNTRIES. A merchant adds a method (a carrier's rate table, pickup) by subclassing ShippingMethod
and listing it in `methods()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django_countries import countries

from .pricing import format_money

ZERO = Decimal("0.00")


class ShippingError(Exception):
    pass


@dataclass(frozen=True)
class Quote:
    code: str
    label: str
    cost: Decimal
    note: str = ""


class ShippingMethod:
    code: str = ""
    label: str = ""

    def cost(self, subtotal: Decimal, country: str) -> Decimal | None:  # pragma: no cover - interface
        """The cost for this subtotal and destination, or None where the method does not apply."""
        raise NotImplementedError

    def note(self) -> str:
        return ""


@dataclass
class FlatRate(ShippingMethod):
    rate: Decimal
    code: str = "standard"
    label: str = "Standard delivery"

    def cost(self, subtotal, country):
        return self.rate


@dataclass
class FreeOverThreshold(ShippingMethod):
    threshold: Decimal
    code: str = "free"
    label: str = "Free delivery"

    def cost(self, subtotal, country):
        return ZERO if subtotal >= self.threshold else None

    def note(self) -> str:
        return f"on orders of {format_money(self.threshold)} or more"


def methods() -> list[ShippingMethod]:
    out: list[ShippingMethod] = []
    if settings.SHOP_FREE_SHIPPING_OVER is not None:
        out.append(FreeOverThreshold(threshold=settings.SHOP_FREE_SHIPPING_OVER))
    out.append(FlatRate(rate=settings.SHOP_SHIPPING_FLAT_RATE))
    return out


def ship_to_countries() -> list[tuple[str, str]]:
    """(code, name) of the countries the shop ships to, by name."""
    return sorted(((c, countries.name(c) or c) for c in settings.SHOP_SHIP_TO_COUNTRIES), key=lambda x: x[1])


def check_country(country: str) -> str:
    code = (country or "").strip().upper()
    if code not in settings.SHOP_SHIP_TO_COUNTRIES:
        raise ShippingError(f"We do not ship to {countries.name(code) or code or 'that country'}.")
    return code


def quotes(subtotal: Decimal, country: str | None = None) -> list[Quote]:
    """The methods a shopper may choose for this subtotal (and country, if known), cheapest first."""
    out = []
    for m in methods():
        cost = m.cost(subtotal, country or "")
        if cost is not None:
            out.append(Quote(m.code, m.label, Decimal(cost).quantize(Decimal("0.01")), m.note()))
    return sorted(out, key=lambda q: q.cost)


def quote(code: str, subtotal: Decimal, country: str) -> Quote:
    country = check_country(country)
    for q in quotes(subtotal, country):
        if q.code == code:
            return q
    raise ShippingError("That delivery option is not available for this order; please choose another.")


def estimate(subtotal: Decimal) -> Quote | None:
    """The cheapest delivery for a cart before a country is known (the cart page's estimate)."""
    options = quotes(subtotal)
    return options[0] if options else None


def free_shipping_gap(subtotal: Decimal) -> Decimal | None:
    """How much more to spend for free delivery, or None when it is free already or never free."""
    threshold = settings.SHOP_FREE_SHIPPING_OVER
    if threshold is None or subtotal >= threshold:
        return None
    return threshold - subtotal
