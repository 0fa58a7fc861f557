"""The order state machine: every status change goes through `transition`.

    pending  -> paid, cancelled
    paid     -> shipped, cancelled, refunded
    shipped  -> delivered, refunded
    delivered-> refunded
    cancelled, refunded: final

Cancelling or refunding gives the ordered units back to stock, in the same transaction.
"""
from __future__ import annotations

from django.db import transaction

from . import stock
from .models import Order, OrderStatusChange

S = Order.Status
TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.PAID, S.CANCELLED},
    S.PAID: {S.SHIPPED, S.CANCELLED, S.REFUNDED},
    S.SHIPPED: {S.DELIVERED, S.REFUNDED},
    S.DELIVERED: {S.REFUNDED},
    S.CANCELLED: set(),
    S.REFUNDED: set(),
}
RESTOCKING = {S.CANCELLED, S.REFUNDED}


# What a customer may do to their own order from the shop's pages: cancel it while it is still pending.
CUSTOMER_CANCELLABLE = {S.PENDING}


class TransitionNotAllowed(Exception):
    pass


def allowed(order: Order) -> list[str]:
    return sorted(TRANSITIONS[order.status])


def transition(order: Order, to_status: str, by=None, note: str = "") -> Order:
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if to_status not in TRANSITIONS[locked.status]:
            raise TransitionNotAllowed(
                f"Order {locked.number} is {locked.get_status_display().lower()}; it cannot become {to_status}."
            )
        if to_status in RESTOCKING:
            lines = list(locked.lines.exclude(product=None).order_by("product_id"))
            stock.lock_products(line.product_id for line in lines)
            for line in lines:
                stock.give_back(line.product_id, line.quantity, line.variant_id)
        OrderStatusChange.objects.create(order=locked, from_status=locked.status, to_status=to_status, by=by,
                                         note=note)
        locked.status = to_status
        locked.save(update_fields=["status", "updated_at"])
    order.status = locked.status
    return order


def customer_can_cancel(order: Order) -> bool:
    return order.status in CUSTOMER_CANCELLABLE


def customer_cancel(order: Order, by=None) -> Order:
    """A customer's own cancel: only a pending order (a paid one is refunded by the shop, not cancelled by the
    customer). Checked again under the row lock, so a payment arriving meanwhile wins."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if not customer_can_cancel(locked):
            raise TransitionNotAllowed(
                f"Order {locked.number} is {locked.get_status_display().lower()}; it cannot be cancelled any more. "
                "Contact us for a return or a refund.")
        return transition(order, S.CANCELLED, by=by, note="cancelled by customer")
