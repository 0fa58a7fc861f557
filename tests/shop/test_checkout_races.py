"""One cart becomes at most one order, whatever the timing: a double click, two tabs, a retried request.

Two kinds of test, as Saleor and Oscar do: deterministic ones, where the competing checkout of the same cart runs at
an exact point of the first one's code, and one with real threads colliding on PostgreSQL's row locks.
"""
import threading
from unittest import mock

import pytest
from django.db import connection

from shop import checkout, stock
from shop.models import Cart, CartLine, Order, Product
from tests.conftest import ADDRESS, run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _cart(items):
    cart = Cart.objects.create()
    for product, qty in items.items():
        CartLine.objects.create(cart=cart, product=product, quantity=qty)
    return cart


def _place(cart, email="o@example.com"):
    return checkout.place_order(Cart.objects.get(pk=cart.pk), email=email, address=checkout.Address(**ADDRESS))


def _in_thread(fn):
    """Run fn on its own database connection; returns (thread, outcome dict)."""
    outcome = {}

    def run():
        try:
            outcome["order"] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc
        finally:
            connection.close()

    return threading.Thread(target=run), outcome


def test_second_checkout_of_a_cart_that_was_just_ordered_places_nothing(make_product):
    """The competing checkout of the same cart completes after ours read the cart and before ours takes stock."""
    product = make_product(stock=5)
    cart = _cart({product: 1})
    original = checkout._precheck
    competitor = {}

    def precheck_then_compete(lines):
        original(lines)  # we read the cart: one line...
        if competitor:
            return  # the competitor's own checkout passes through here too
        t, competitor["outcome"] = _in_thread(lambda: _place(cart, "twin@example.com"))
        t.start()  # ...and the same cart is checked out by a second request, to the end, right now
        t.join()

    with mock.patch.object(checkout, "_precheck", precheck_then_compete):
        with pytest.raises(checkout.CheckoutError, match="cart is empty"):
            _place(cart)
    assert "order" in competitor["outcome"], competitor["outcome"]
    product.refresh_from_db()
    assert Order.objects.count() == 1 and product.stock == 4


def test_checkout_arriving_while_the_first_holds_the_locks_waits_and_places_nothing(make_product):
    """The competitor starts while ours is inside its transaction (taking stock); it must wait for ours to commit
    and then find the cart ordered, not order it again from what it read before."""
    product = make_product(stock=5)
    cart = _cart({product: 2})
    original_take = stock.take
    started = {}

    def take_then_compete(prod, quantity, *rest):
        left = original_take(prod, quantity, *rest)
        if not started:
            t, started["outcome"] = _in_thread(lambda: _place(cart, "twin@example.com"))
            started["thread"] = t
            t.start()
            t.join(timeout=1.5)  # it cannot finish while we hold the cart
            started["finished_before_commit"] = not t.is_alive()
        return left

    with mock.patch.object(stock, "take", take_then_compete):
        order = _place(cart)
    started["thread"].join(timeout=30)
    assert not started["finished_before_commit"]
    assert isinstance(started["outcome"].get("error"), checkout.CheckoutError), started["outcome"]
    product.refresh_from_db()
    assert list(Order.objects.values_list("number", flat=True)) == [order.number] and product.stock == 3


def test_threads_checking_out_one_cart_make_one_order(make_product):
    assert connection.vendor == "postgresql", "this test needs real row locks"
    product = make_product(stock=10)
    cart = _cart({product: 1})
    n = 6
    results = run_together(_place, [(cart,)] * n)
    product.refresh_from_db()
    assert sum(isinstance(r, Order) for r in results) == 1
    assert sum(isinstance(r, checkout.EmptyCart) for r in results) == n - 1, results
    assert Order.objects.count() == 1 and product.stock == 9


def test_a_double_click_shows_the_order_not_an_error(client, make_product):
    """The browser shows the answer to the last click: a checkout of a cart this visitor just ordered leads to
    that order's page."""
    product = make_product(stock=5)
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    form = {**ADDRESS, "email": "guest@example.com", "payment_method": "cod"}
    first = client.post("/checkout/", form)
    assert first.status_code == 302 and "/confirmation/" in first["Location"]
    number = first["Location"].split("/")[2]
    # The second click raced the first: its checkout found the cart already ordered.
    cart = Cart.objects.get(pk=client.session["cart_id"])
    CartLine.objects.create(cart=cart, product=product, quantity=1)
    with mock.patch.object(checkout, "_precheck", side_effect=lambda lines: CartLine.objects.filter(
            cart=cart).delete()):
        second = client.post("/checkout/", form)
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert number in client.get(second["Location"]).content.decode()
    assert Order.objects.count() == 1 and Product.objects.get(pk=product.pk).stock == 4
