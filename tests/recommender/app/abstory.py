"""A/B history with known answers (used by the report and dashboard tests): five visitors, three slots' worth of
impressions, clicks, add-to-carts inside and outside the attribution window, and orders (one cancelled)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from shop import events, imports
from shop.models import Event, Order

T0 = None


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rec(kind, minutes, visitor, product=None, source="recommendation", quantity=1, data=None):
    return {"kind": kind, "at": at(minutes).isoformat(), "session_key": visitor, "user_id": None,
            "product_id": getattr(product, "pk", product), "quantity": quantity, "source": source, "query": "",
            "data": data}


def impression(minutes, visitor, ref, n=4):
    return rec(Event.Kind.IMPRESSION, minutes, visitor, quantity=n, data={"ref": ref, "items": list(range(n))})


def click(minutes, visitor, product, ref):
    return rec(Event.Kind.VIEW, minutes, visitor, product, data={"ref": ref})


def cart(minutes, visitor, product):
    return rec(Event.Kind.CART_ADD, minutes, visitor, product, source="direct")


def order(minutes, visitor, lines, ref):
    return [imports.SaleLine(line=k, at=at(minutes), sku=p.sku, quantity=q, unit_price=Decimal(price), customer="",
                             order_ref=ref, visitor=visitor) for k, (p, q, price) in enumerate(lines, 1)]


HOME_M, HOME_C, PROD_M = "home.model.1.personal", "home.control.0.popular", "product.model.1.related"


def write(catalog):
    """Three visitors in the model arm (a, b, c), two in control (d, e); see each line."""
    global T0
    T0 = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=2)
    p1, p2, p3, p4, p5 = (catalog[k] for k in ("m1", "m2", "m3", "l1", "l2"))
    a, b, c, d, e = (f"{x * 32}" for x in "abcde")
    records = [
        # a: 3 home impressions, clicks p1, carts it 5 min later and buys 2 x 10.00 20 min later (both credited)
        impression(0, a, HOME_M), impression(1, a, HOME_M), impression(2, a, HOME_M),
        click(3, a, p1, HOME_M), cart(8, a, p1),
        # a on p1's page: the product slot, clicks p5 and buys it (5.00) -- credited to the product slot
        impression(4, a, PROD_M), click(6, a, p5, PROD_M),
        # b: 2 impressions, clicks p2 and p3, carts p3 90 minutes later: outside the 60-minute window
        impression(0, b, HOME_M), impression(30, b, HOME_M), click(31, b, p2, HOME_M), click(32, b, p3, HOME_M),
        cart(122, b, p3),
        # c: 1 impression, no click; carts p1 anyway (not credited: no click)
        impression(0, c, HOME_M), cart(5, c, p1),
        # d (control): 2 impressions, clicks p4, carts it (credited); a cancelled order of p4 (not counted)
        impression(0, d, HOME_C), impression(10, d, HOME_C), click(11, d, p4, HOME_C), cart(12, d, p4),
        # e (control): 2 impressions, nothing else
        impression(0, e, HOME_C), impression(50, e, HOME_C),
        # noise that must not count: a list view, a foreign label, another source's impression
        rec(Event.Kind.VIEW, 3, a, p2, source="list"), click(3, a, p2, "somewhere.else"),
        rec(Event.Kind.IMPRESSION, 3, a, source="list", data={"ref": HOME_M}),
    ]
    events.write(records)
    sales = (order(23, a, [(p1, 2, "10.00")], "R-A1") + order(40, a, [(p5, 1, "5.00")], "R-A2")
             + order(20, d, [(p4, 1, "7.00")], "R-D1") + order(200, b, [(p3, 1, "9.00")], "R-B1"))
    imports.load_sales(imports.SalesBatch(sales, Counter(), len(sales)))
    Order.objects.filter(number="R-D1").update(status=Order.Status.CANCELLED)
