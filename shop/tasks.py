"""Celery tasks of the shop. Enqueue them with transaction.on_commit (shop.outbox.enqueue never fails the
request); each is safe to run twice."""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from . import outbox, versions
from .models import Cart, Order, OrderLine, Product, Session

log = logging.getLogger(__name__)


def order_confirmation_key(order_id: int) -> str:
    return f"order-confirmation:{order_id}"


def queue_order_confirmation(order: Order) -> None:
    """Put the confirmation email of a new order into the outbox, in the order's transaction."""
    body = render_to_string("shop/email/order_confirmation.txt", {"order": order, "shop_name": settings.SHOP_NAME})
    outbox.queue_email(order_confirmation_key(order.pk), order.email,
                       f"{settings.SHOP_NAME}: order {order.number} confirmed", body,
                       send_order_confirmation, order.pk)


@shared_task(ignore_result=True)
def send_order_confirmation(order_id: int) -> str:
    """Send the order's confirmation email once (the outbox row says whether it went already)."""
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    if not outbox.OutboxEmail.objects.filter(key=order_confirmation_key(order_id)).exists():
        with transaction.atomic():  # queued by an older release, before the outbox
            queue_order_confirmation(order)
    outbox.deliver(order_confirmation_key(order_id))
    return order.number


@shared_task(ignore_result=True)
def drain_outbox() -> int:
    """Send every email still waiting in the outbox (the broker was down when it was queued, or SMTP failed)."""
    return outbox.drain()


@worker_ready.connect
def _drain_outbox_at_worker_start(sender=None, **kwargs):
    """Emails queued while no worker (or no broker) was there go out as soon as a worker starts: the drain is sent
    to a queue this worker reads (its default queue, or the first one it was given with -Q)."""
    try:
        app = drain_outbox.app
        queues = app.amqp.queues.consume_from or {}
        default = app.conf.task_default_queue
        drain_outbox.apply_async(queue=default if default in queues or not queues else next(iter(queues)))
    except Exception:  # noqa: BLE001 - a worker must start even if this fails; beat drains every minute anyway
        log.exception("could not queue the outbox drain at worker start")


@shared_task(ignore_result=True)
def cleanup() -> dict:
    """Daily: delete anonymous carts untouched for SHOP_CART_DAYS days, expired sessions, and outbox emails sent
    more than 90 days ago."""
    old = timezone.now() - timedelta(days=settings.SHOP_CART_DAYS)
    _, carts = Cart.objects.filter(user=None, updated_at__lt=old).delete()
    sessions, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return {"carts": carts.get("shop.Cart", 0), "sessions": sessions, "emails": outbox.purge_sent()}


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
    n = Product.objects.update(popularity=Coalesce(Subquery(sold), 0))
    versions.changed(versions.LISTS)  # the "popular" sorts and slots (shop/versions.py)
    return n
