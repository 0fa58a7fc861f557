"""Two adds of the same new product to one cart at once (two tabs, a double click) both count; neither is a 500."""
import threading
from unittest import mock

import pytest
from django.db import connection

from shop import cart as carts
from shop.models import Cart, CartLine
from tests.conftest import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_competing_add_between_our_lookup_and_insert(make_product):
    """The competitor adds the product right after ours looked for the line (none yet) and before ours inserts."""
    product = make_product(stock=10)
    cart = Cart.objects.create()
    original = carts._check_quantity
    competitor = {}

    def run_competitor():
        try:
            carts.add(Cart.objects.get(pk=cart.pk), product, 1)
            competitor["ok"] = True
        except Exception as exc:  # noqa: BLE001
            competitor["error"] = exc
        finally:
            connection.close()

    def check_then_compete(prod, quantity, *rest):
        original(prod, quantity, *rest)
        if "thread" not in competitor:
            competitor["thread"] = t = threading.Thread(target=run_competitor)
            t.start()
            t.join(timeout=1.5)  # with the cart locked it waits for us; without, it inserts its line now

    with mock.patch.object(carts, "_check_quantity", check_then_compete):
        carts.add(cart, product, 1)
    competitor["thread"].join(timeout=30)
    assert competitor.get("ok"), competitor
    assert list(CartLine.objects.filter(cart=cart).values_list("product_id", "quantity")) == [(product.pk, 2)]


def test_threads_adding_one_new_product_to_one_cart(make_product):
    assert connection.vendor == "postgresql", "this test needs real row locks"
    product = make_product(stock=20)
    cart = Cart.objects.create()
    n = 8
    results = run_together(lambda: carts.add(Cart.objects.get(pk=cart.pk), product, 1), [()] * n)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert CartLine.objects.get(cart=cart, product=product).quantity == n
