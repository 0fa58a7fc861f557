"""What things cost: a product today (the list price less the best running promotion) and an order's totals."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import timezone

CENT = Decimal("0.01")


def active_discount(product, day=None) -> int:
    """Percent off today. Uses the `active_promotions` prefetch of ProductQuerySet.for_listing when present."""
    day = day or timezone.localdate()
    promos = getattr(product, "active_promotions", None)
    if promos is None:
        promos = product.promotions.filter(starts_on__lte=day, ends_on__gte=day)
    return max((p.discount_percent for p in promos), default=0)


def unit_price(product, day=None) -> Decimal:
    return discounted(product.price, active_discount(product, day))


def discounted(price, pct: int) -> Decimal:
    """A list price less `pct` percent, to the cent (half up), as every price the shop shows."""
    return (Decimal(price) * (Decimal(100 - int(pct)) / Decimal(100))).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value) -> str:
    return f"{Decimal(value):,.2f} {settings.SHOP_CURRENCY}"


@dataclass(frozen=True)
class Totals:
    """What an order costs, as the shop's tax settings say.

    Prices include VAT (SHOP_PRICES_INCLUDE_VAT, the default): subtotal + shipping is what the shopper pays and
    `vat` is the share of it that is tax. Prices exclude VAT: VAT at SHOP_VAT_RATE is added on top of subtotal
    + shipping. Either way `total` is the amount charged.
    """

    subtotal: Decimal
    shipping: Decimal
    vat: Decimal
    total: Decimal
    vat_rate: Decimal
    prices_include_vat: bool


def totals(subtotal: Decimal, shipping: Decimal = Decimal("0")) -> Totals:
    rate = settings.SHOP_VAT_RATE
    included = settings.SHOP_PRICES_INCLUDE_VAT
    gross = Decimal(subtotal) + Decimal(shipping)
    if included:
        vat = (gross * rate / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        total = gross
    else:
        vat = (gross * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        total = gross + vat
    return Totals(subtotal=Decimal(subtotal).quantize(CENT), shipping=Decimal(shipping).quantize(CENT), vat=vat,
                  total=total.quantize(CENT), vat_rate=rate, prices_include_vat=included)
