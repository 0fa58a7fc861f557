"""What the admin index opens on: today's orders and revenue, orders waiting to ship, low stock, and links to
other apps' dashboards.

Other apps (forecasting, recommender, chatbot) put their dashboards on it without `shop` importing them: they call
`register_link` from their AppConfig.ready(), e.g.

    from shop.dashboard import register_link
    register_link("Sales forecast", "forecasting:dashboard", "45-day forecast and reorder list",
                  permission="forecasting.view_forecast")

`url` is a URL name (reversed when the index renders; a name that does not resolve is left out) or a path.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .models import Order, Product


@dataclass(frozen=True)
class DashboardLink:
    label: str
    url: str
    description: str = ""
    permission: str | None = None


_LINKS: dict[str, DashboardLink] = {}


def register_link(label: str, url: str, description: str = "", permission: str | None = None) -> None:
    """Add (or replace, by label) a link on the admin index. Call it from an AppConfig.ready()."""
    _LINKS[label] = DashboardLink(label, url, description, permission)


def links_for(user) -> list[dict]:
    out = []
    for link in _LINKS.values():
        if link.permission and not user.has_perm(link.permission):
            continue
        if link.url.startswith("/"):
            href = link.url
        else:
            try:
                href = reverse(link.url)
            except NoReverseMatch:
                continue
        out.append({"label": link.label, "url": href, "description": link.description})
    return out


def _day_bounds(day):
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def sales_on(day) -> dict:
    """Orders placed that day (shop time zone) and their revenue, cancelled orders left out."""
    lo, hi = _day_bounds(day)
    row = (Order.objects.filter(created_at__gte=lo, created_at__lt=hi).exclude(status=Order.Status.CANCELLED)
           .aggregate(orders=Count("pk"), revenue=Sum("total")))
    return {"orders": row["orders"], "revenue": row["revenue"] or Decimal("0.00")}


def summary(user) -> dict:
    today = timezone.localdate()
    waiting = Order.objects.aggregate(
        pending=Count("pk", filter=Q(status=Order.Status.PENDING)),
        to_ship=Count("pk", filter=Q(status=Order.Status.PAID)))
    low = list(Product.objects.active().filter(stock__lte=settings.SHOP_LOW_STOCK)
               .order_by("stock", "-popularity", "name").only("pk", "name", "sku", "stock", "popularity")[:10])
    return {
        "today": sales_on(today), "yesterday": sales_on(today - timedelta(days=1)), "waiting": waiting,
        "low_stock": low, "low_stock_threshold": settings.SHOP_LOW_STOCK, "links": links_for(user),
        "currency": settings.SHOP_CURRENCY,
    }
