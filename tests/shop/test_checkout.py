"""Stock is taken atomically: a checkout either places the whole order or changes nothing."""
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.db import connection

from shop import checkout, order_flow
from shop.models import Cart, CartLine, Order, Product, StockOut
from tests.conftest import ADDRESS, run_together


def _cart(items):
    cart = Cart.objects.create()
    for product, qty in items.items():
        CartLine.objects.create(cart=cart, product=product, quantity=qty)
    return cart


def test_order_takes_stock_and_records_lines(make_product, buy, user):
    a, b = make_product(price="12.50", stock=5), make_product(price="3.00", stock=2)
    order = buy({a: 2, b: 2}, user=user)
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.stock, b.stock) == (3, 0)
    assert order.subtotal == Decimal("31.00") and order.status == Order.Status.PENDING
    assert (order.shipping_method, order.shipping_cost, order.total) == ("standard", Decimal("4.90"),
                                                                         Decimal("35.90"))
    assert sorted((l.sku, l.quantity, l.unit_price) for l in order.lines.all()) == [
        (a.sku, 2, Decimal("12.50")), (b.sku, 2, Decimal("3.00"))]
    assert StockOut.objects.filter(product=b, ended_at=None).exists()  # b just sold out
    assert not Cart.objects.get(pk=Cart.objects.latest("pk").pk).lines.exists()


def test_checkout_that_cannot_be_filled_changes_no_stock(make_product):
    a, b = make_product(stock=5), make_product(stock=1)
    cart = _cart({a: 2, b: 1})
    Product.objects.filter(pk=b.pk).update(stock=0)  # sold out after the cart was filled
    with pytest.raises(checkout.CheckoutError, match="out of stock"):
        checkout.place_order(cart, email="x@example.com", address=checkout.Address(**ADDRESS))
    a.refresh_from_db()
    assert a.stock == 5 and not Order.objects.exists() and cart.lines.count() == 2


def test_failed_payment_rolls_back_stock(make_product):
    a = make_product(stock=3)
    cart = _cart({a: 2})
    from shop import payments

    with mock.patch.object(payments.PayOnDelivery, "authorize", side_effect=payments.PaymentError("declined")):
        with pytest.raises(payments.PaymentError):
            checkout.place_order(cart, email="x@example.com", address=checkout.Address(**ADDRESS))
    a.refresh_from_db()
    assert a.stock == 3 and not Order.objects.exists()


def test_promotion_price_is_charged(make_product, buy):
    from datetime import date, timedelta

    from shop.models import Promotion

    a = make_product(price="20.00", stock=3)
    Promotion.objects.create(product=a, starts_on=date.today() - timedelta(days=1),
                             ends_on=date.today() + timedelta(days=1), discount_percent=25)
    order = buy({a: 1})
    assert order.subtotal == Decimal("15.00") and order.total == Decimal("19.90")


def test_confirmation_email_is_sent_after_commit(make_product, buy, django_capture_on_commit_callbacks):
    a = make_product(stock=3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order = buy({a: 1}, email="carol@example.com")
    assert len(mail.outbox) == 0 and callbacks  # nothing is sent before the order is committed
    for callback in callbacks:  # the email, and the page cache's change counters (shop.versions)
        callback()
    assert len(mail.outbox) == 1 and order.number in mail.outbox[0].subject
    assert mail.outbox[0].to == ["carol@example.com"]


@pytest.mark.parametrize("to", ["cancelled", "refunded"])
def test_cancel_and_refund_give_stock_back(make_product, buy, to):
    a = make_product(stock=4)
    order = buy({a: 4})
    if to == "refunded":
        order_flow.transition(order, "paid")
    order_flow.transition(order, to)
    a.refresh_from_db()
    assert a.stock == 4
    assert not StockOut.objects.filter(product=a, ended_at=None).exists()
    assert list(order.status_changes.values_list("to_status", flat=True))[-1] == to


def test_state_machine_refuses_illegal_transitions(make_product, buy):
    a = make_product(stock=4)
    order = buy({a: 1})
    with pytest.raises(order_flow.TransitionNotAllowed):
        order_flow.transition(order, "delivered")
    order_flow.transition(order, "cancelled")
    with pytest.raises(order_flow.TransitionNotAllowed):
        order_flow.transition(order, "cancelled")  # cancelling twice would give stock back twice
    a.refresh_from_db()
    assert a.stock == 4


# --- Races -------------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_deterministic_race_competing_purchase_between_check_and_take(make_product):
    """The competitor buys the last unit exactly after our checkout read the stock and before it takes it."""
    product = make_product(stock=1)
    ours, theirs = _cart({product: 1}), _cart({product: 1})
    original = checkout._precheck
    competitor_result = {}

    def competitor():
        try:
            competitor_result["order"] = checkout.place_order(theirs, email="t@example.com",
                                                              address=checkout.Address(**ADDRESS))
        finally:
            connection.close()

    def precheck_then_compete(lines):
        original(lines)  # we saw 1 unit in stock...
        if competitor_result.setdefault("started", False):
            return  # the competitor's own checkout passes through here too
        competitor_result["started"] = True
        t = threading.Thread(target=competitor)  # ...and the competitor buys it now, on its own connection
        t.start()
        t.join()

    with mock.patch.object(checkout, "_precheck", precheck_then_compete):
        with pytest.raises(checkout.CheckoutError, match="out of stock"):
            checkout.place_order(ours, email="o@example.com", address=checkout.Address(**ADDRESS))
    product.refresh_from_db()
    assert "order" in competitor_result
    assert product.stock == 0 and Order.objects.count() == 1
    assert ours.lines.count() == 1  # our cart is untouched


@pytest.mark.django_db(transaction=True)
def test_threads_buying_the_last_units_never_oversell(make_product):
    assert connection.vendor == "postgresql", "this test needs real row locks"
    product = make_product(stock=3)
    buyers = 12
    carts = [_cart({product: 1}) for _ in range(buyers)]
    results = run_together(lambda cart: checkout.place_order(cart, email="b@example.com",
                                                             address=checkout.Address(**ADDRESS)),
                           [(c,) for c in carts])
    product.refresh_from_db()
    assert sum(isinstance(r, Order) for r in results) == 3
    assert sum(isinstance(r, checkout.CheckoutError) for r in results) == buyers - 3
    assert product.stock == 0
    assert sum(l.quantity for o in Order.objects.all() for l in o.lines.all()) == 3
