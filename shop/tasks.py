"""Celery tasks of the shop. Enqueue them with transaction.on_commit; each is safe to run twice."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Order, OrderLine, Product


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_order_confirmation(self, order_id: int) -> str:
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    context = {"order": order, "shop_name": settings.SHOP_NAME}
    send_mail(
        subject=f"{settings.SHOP_NAME}: order {order.number} confirmed",
        message=render_to_string("shop/email/order_confirmation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[order.email],
    )
    return order.number


@shared_task
def flush_events() -> int:
    from . import events

    if settings.SHOP_EVENT_LOG != "buffer":
        return 0
    return events.flush_buffer()


@shared_task
def refresh_popularity(days: int = 30) -> int:
    """Units sold per product over the last `days` days, for the category pages' "popular" sort."""
    since = timezone.now() - timedelta(days=days)
    sold = (OrderLine.objects.filter(product=OuterRef("pk"), order__created_at__gte=since)
            .exclude(order__status=Order.Status.CANCELLED)
            .values("product").annotate(n=Sum("quantity")).values("n"))
    return Product.objects.update(popularity=Coalesce(Subquery(sold), 0))
