"""What a product costs today: the list price less the best running promotion."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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
    pct = active_discount(product, day)
    price = product.price * (Decimal(100 - pct) / Decimal(100))
    return price.quantize(CENT, rounding=ROUND_HALF_UP)
