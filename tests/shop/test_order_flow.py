"""The order's life as the shop's staff and the customer see it: which status may follow which, who may cancel,
what the history records and what goes back to stock."""
from decimal import Decimal

import pytest
from django.db import transaction

from shop import checkout, order_flow, stock
from shop.models import Cart, CartLine, Order, Product, ProductVariant
from tests.conftest import ADDRESS

S = Order.Status
PATHS = {  # every allowed step, from the module's diagram
    S.PENDING: [S.CANCELLED, S.PAID],
    S.PAID: [S.CANCELLED, S.REFUNDED, S.SHIPPED],
    S.SHIPPED: [S.DELIVERED, S.REFUNDED],
    S.DELIVERED: [S.REFUNDED],
    S.CANCELLED: [],
    S.REFUNDED: [],
}


def reach(order, status):
    route = {S.PENDING: [], S.PAID: [S.PAID], S.SHIPPED: [S.PAID, S.SHIPPED],
             S.DELIVERED: [S.PAID, S.SHIPPED, S.DELIVERED], S.CANCELLED: [S.CANCELLED],
             S.REFUNDED: [S.PAID, S.REFUNDED]}[status]
    for step in route:
        order_flow.transition(order, step)
    return order


@pytest.mark.parametrize("status", list(PATHS))
def test_the_next_statuses_offered_are_exactly_the_allowed_ones(make_product, buy, status):
    order = reach(buy({make_product(stock=5): 1}), status)
    assert order_flow.allowed(order) == sorted(PATHS[status])
    for to in S.values:
        if to in PATHS[status] or to == status:
            continue
        with pytest.raises(order_flow.TransitionNotAllowed):
            order_flow.transition(order, to)
    assert Order.objects.get(pk=order.pk).status == status


def test_a_refused_step_says_where_the_order_is(make_product, buy):
    order = reach(buy({make_product(stock=5): 1}), S.SHIPPED)
    with pytest.raises(order_flow.TransitionNotAllowed) as exc:
        order_flow.transition(order, S.PAID)
    assert str(exc.value) == f"Order {order.number} is shipped; it cannot become paid."


def test_each_step_is_recorded_with_who_and_why(make_product, buy, user):
    order = buy({make_product(stock=5): 1})
    out = order_flow.transition(order, S.PAID, by=user, note="bank transfer seen")
    assert out is order and order.status == S.PAID and Order.objects.get(pk=order.pk).status == S.PAID
    change = order.status_changes.order_by("pk").last()
    assert (change.from_status, change.to_status, change.by, change.note) == (S.PENDING, S.PAID, user,
                                                                              "bank transfer seen")
    order_flow.transition(order, S.SHIPPED)
    change = order.status_changes.order_by("pk").last()
    assert (change.from_status, change.to_status, change.by, change.note) == (S.PAID, S.SHIPPED, None, "")


def test_shipping_takes_nothing_back_to_stock(make_product, buy):
    p = make_product(stock=5)
    order = reach(buy({p: 2}), S.DELIVERED)
    assert Product.objects.get(pk=p.pk).stock == 3


def test_cancelling_gives_back_every_line_including_sizes(make_product, buy):
    a, b = make_product(stock=5), make_product(name="Tee", stock=0)
    m = ProductVariant.objects.create(product=b, sku="TEE-M", size="M", stock=3)
    with transaction.atomic():
        stock.sync_product_stock(stock.lock_products([b.pk])[b.pk])
    cart = Cart.objects.create()
    CartLine.objects.create(cart=cart, product=a, quantity=2)
    CartLine.objects.create(cart=cart, product=b, variant=m, quantity=3)
    order = checkout.place_order(cart, email="x@example.com", address=checkout.Address(**ADDRESS))
    assert order.subtotal == Decimal("50.00")
    assert (Product.objects.get(pk=a.pk).stock, Product.objects.get(pk=b.pk).stock) == (3, 0)
    order_flow.transition(order, S.CANCELLED)
    assert (Product.objects.get(pk=a.pk).stock, Product.objects.get(pk=b.pk).stock) == (5, 3)
    assert ProductVariant.objects.get(pk=m.pk).stock == 3


def test_a_line_whose_product_was_deleted_is_skipped_when_restocking(make_product, buy):
    a, b = make_product(stock=5), make_product(stock=5)
    order = buy({a: 1, b: 2})
    Product.objects.filter(pk=a.pk).delete()
    order_flow.transition(order, S.CANCELLED)
    assert Product.objects.get(pk=b.pk).stock == 5 and Order.objects.get(pk=order.pk).status == S.CANCELLED


def test_a_customer_may_cancel_only_while_pending(make_product, buy, user):
    p = make_product(stock=5)
    order = buy({p: 2}, user=user)
    assert order_flow.customer_can_cancel(order)
    out = order_flow.customer_cancel(order, by=user)
    assert out.status == S.CANCELLED and Product.objects.get(pk=p.pk).stock == 5
    change = order.status_changes.order_by("pk").last()
    assert (change.by, change.note) == (user, "cancelled by customer")

    paid = reach(buy({p: 1}, user=user), S.PAID)
    assert not order_flow.customer_can_cancel(paid)
    with pytest.raises(order_flow.TransitionNotAllowed) as exc:
        order_flow.customer_cancel(paid, by=user)
    assert str(exc.value) == (f"Order {paid.number} is paid; it cannot be cancelled any more. "
                              "Contact us for a return or a refund.")
    assert Order.objects.get(pk=paid.pk).status == S.PAID and Product.objects.get(pk=p.pk).stock == 4


def test_a_payment_that_arrived_meanwhile_wins_over_the_customers_cancel(make_product, buy, user):
    order = buy({make_product(stock=5): 1}, user=user)
    stale = Order.objects.get(pk=order.pk)  # the page the customer has open still says pending
    order_flow.transition(order, S.PAID)
    assert order_flow.customer_can_cancel(stale)
    with pytest.raises(order_flow.TransitionNotAllowed):
        order_flow.customer_cancel(stale, by=user)
    assert Order.objects.get(pk=order.pk).status == S.PAID
