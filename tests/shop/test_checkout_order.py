"""What a placed order holds (the shopper's receipt and the shop's records), the checkout's refusals and their
messages, and finding the order a double click already placed."""
import re
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from shop import checkout, payments
from shop.models import Cart, CartLine, Order, Product, ProductVariant
from tests.conftest import ADDRESS


def cart_of(items, **kw):
    cart = Cart.objects.create(**kw)
    for key, qty in items.items():
        product, variant = key if isinstance(key, tuple) else (key, None)
        CartLine.objects.create(cart=cart, product=product, variant=variant, quantity=qty)
    return cart


def place(cart, **kw):
    kw.setdefault("email", "ann@example.com")
    kw.setdefault("address", checkout.Address(**ADDRESS))
    return checkout.place_order(cart, **kw)


def test_order_number_is_the_date_and_eight_hex_digits(db):
    n = checkout.new_order_number()
    assert re.fullmatch(r"\d{6}-[0-9A-F]{8}", n) and n[:6] == timezone.now().strftime("%y%m%d")
    assert checkout.new_order_number() != n


def test_the_order_records_the_buyer_the_address_and_the_sizes(make_product, user):
    a = make_product(name="Mug", price="12.50", stock=5)
    tee = make_product(name="Tee", price="20.00", stock=0)
    m = ProductVariant.objects.create(product=tee, sku="TEE-M", size="M", colour="Blue", stock=3)
    Product.objects.filter(pk=tee.pk).update(stock=3)
    cart = cart_of({a: 2, (tee, m): 1}, user=user)
    address = checkout.Address(full_name="Ann Buyer", address_line1="2 High St", address_line2="Flat 3",
                               city="Vienna", postal_code="1010", country="at")
    order = place(cart, email="ann@example.com", address=address, user=user, visitor_id="vid-1")
    order = Order.objects.get(pk=order.pk)
    assert order.user == user and order.session_key == "vid-1" and order.email == "ann@example.com"
    assert (order.full_name, order.address_line1, order.address_line2, order.city, order.postal_code,
            order.country) == ("Ann Buyer", "2 High St", "Flat 3", "Vienna", "1010", "AT")
    assert order.currency == "EUR" and order.payment_method == "cod"
    assert order.payment_reference == f"COD-{order.number}" and order.status == Order.Status.PENDING
    # 25.00 + 20.00 = 45.00, under the free-delivery threshold: standard 4.90; VAT included at 19 %
    assert (order.subtotal, order.shipping_method, order.shipping_cost, order.total) == (
        Decimal("45.00"), "standard", Decimal("4.90"), Decimal("49.90"))
    assert order.vat == Decimal("7.97") and order.vat_rate == Decimal("19") and order.prices_include_vat
    got = sorted(order.lines.values_list("sku", "name", "variant_label", "unit_price", "quantity", "variant_id"))
    assert got == sorted([(a.sku, "Mug", "", Decimal("12.50"), 2, None),
                          ("TEE-M", "Tee", "Blue, M", Decimal("20.00"), 1, m.pk)])
    assert list(order.status_changes.values_list("from_status", "to_status", "note")) == [("", "pending", "placed")]
    assert ProductVariant.objects.get(pk=m.pk).stock == 2 and Product.objects.get(pk=tee.pk).stock == 2
    assert not cart.lines.exists()


def test_a_guest_order_has_no_account(make_product):
    order = place(cart_of({make_product(stock=5): 1}), user=AnonymousUser())
    assert order.user is None and order.session_key == ""


def test_free_delivery_from_the_threshold_and_a_chosen_method(make_product, settings):
    settings.SHOP_FREE_SHIPPING_OVER = Decimal("50.00")
    p = make_product(price="25.00", stock=10)
    order = place(cart_of({p: 2}))  # 50.00: free is the cheapest
    assert (order.shipping_method, order.shipping_cost, order.total) == ("free", Decimal("0.00"), Decimal("50.00"))
    order = place(cart_of({p: 2}), shipping_method="standard")  # the shopper may still choose another
    assert (order.shipping_method, order.shipping_cost, order.total) == ("standard", Decimal("4.90"),
                                                                         Decimal("54.90"))


@pytest.mark.parametrize("method, country, message", [
    ("free", "DE", "That delivery option is not available for this order; please choose another."),
    ("express", "DE", "That delivery option is not available for this order; please choose another."),
    (None, "US", "We do not ship to United States of America."),
    ("standard", "US", "We do not ship to United States of America."),
])
def test_a_delivery_that_does_not_apply_is_refused_and_changes_nothing(make_product, method, country, message):
    p = make_product(price="10.00", stock=5)
    cart = cart_of({p: 1})
    with pytest.raises(checkout.CheckoutError) as exc:
        place(cart, address=checkout.Address(**{**ADDRESS, "country": country}), shipping_method=method)
    assert str(exc.value) == message
    assert Product.objects.get(pk=p.pk).stock == 5 and not Order.objects.exists() and cart.lines.count() == 1


def test_no_delivery_option_at_all(make_product, settings):
    p = make_product(price="10.00", stock=5)
    with mock.patch("shop.shipping.methods", return_value=[]):
        with pytest.raises(checkout.CheckoutError, match="^No delivery option is available for this order.$"):
            place(cart_of({p: 1}))
    assert Product.objects.get(pk=p.pk).stock == 5


def test_an_empty_cart_places_nothing(db):
    with pytest.raises(checkout.EmptyCart) as exc:
        place(Cart.objects.create())
    assert str(exc.value) == "Your cart is empty." and isinstance(exc.value, checkout.CheckoutError)


def test_a_cart_deleted_meanwhile_places_nothing(make_product):
    p = make_product(stock=5)
    cart = cart_of({p: 1})
    Cart.objects.filter(pk=cart.pk).delete()  # e.g. cleaned up in another request
    with pytest.raises(checkout.EmptyCart):
        place(cart)
    assert Product.objects.get(pk=p.pk).stock == 5


def test_a_product_no_longer_sold_is_named(make_product):
    p = make_product(name="Old Lamp", stock=5, is_active=False)
    with pytest.raises(checkout.CheckoutError, match="^Old Lamp is no longer sold.$"):
        place(cart_of({p: 1}))
    tee = make_product(name="Tee", stock=2)
    m = ProductVariant.objects.create(product=tee, sku="TEE-M", size="M", stock=2, is_active=False)
    with pytest.raises(checkout.CheckoutError, match="^Tee is no longer sold.$"):
        place(cart_of({(tee, m): 1}))


def test_too_many_units_are_refused_before_locking(make_product):
    p = make_product(name="Mug", stock=2)
    with pytest.raises(checkout.CheckoutError, match=r"^Only 2 of Mug left; you asked for 3\.$"):
        place(cart_of({p: 3}))
    tee = make_product(name="Tee", stock=9)
    m = ProductVariant.objects.create(product=tee, sku="TEE-M", size="M", stock=1)
    with pytest.raises(checkout.CheckoutError, match=r"^Only 1 of Tee \(M\) left; you asked for 2\.$"):
        place(cart_of({(tee, m): 2}))
    assert Product.objects.get(pk=p.pk).stock == 2 and ProductVariant.objects.get(pk=m.pk).stock == 1


def _after_precheck(change):
    """Run `change` between the unlocked precheck and the locked checkout (another request acting meanwhile)."""
    original = checkout._precheck

    def precheck(lines):
        original(lines)
        change()

    return mock.patch.object(checkout, "_precheck", precheck)


def test_the_locked_check_catches_what_changed_after_the_precheck(make_product):
    p, q = make_product(name="Lamp", stock=5), make_product(name="Mug", stock=5)
    with _after_precheck(lambda: Product.objects.filter(pk=p.pk).update(is_active=False)):
        with pytest.raises(checkout.CheckoutError, match="^Lamp is no longer sold.$"):
            place(cart_of({q: 1, p: 1}))
    tee = make_product(name="Tee", stock=2)
    m = ProductVariant.objects.create(product=tee, sku="TEE-M", size="M", stock=2)
    with _after_precheck(lambda: ProductVariant.objects.filter(pk=m.pk).update(is_active=False)):
        with pytest.raises(checkout.CheckoutError, match="^Tee is no longer sold.$"):
            place(cart_of({(tee, m): 1}))
    with _after_precheck(lambda: ProductVariant.objects.create(product=q, sku="MUG-XL", size="XL", stock=1)):
        with pytest.raises(checkout.CheckoutError, match="^Choose a size of Mug in your cart.$"):
            place(cart_of({q: 1}))
    assert Product.objects.get(pk=q.pk).stock == 5 and not Order.objects.exists()


def test_a_captured_payment_marks_the_order_paid(make_product):
    class Card(payments.PaymentMethod):  # stands in for a payment provider, which cannot run here
        code, label = "card", "Card"

        def authorize(self, order):
            return payments.PaymentResult(captured=True, reference="AUTH-1")

    with mock.patch.dict(payments.METHODS, {"card": Card()}):
        order = place(cart_of({make_product(stock=5): 1}), payment_method="card")
    order = Order.objects.get(pk=order.pk)
    assert order.status == Order.Status.PAID and order.payment_method == "card"
    assert order.payment_reference == "AUTH-1"
    assert list(order.status_changes.values_list("to_status", "note")) == [("pending", "placed"),
                                                                          ("paid", "payment captured")]


def test_an_unknown_payment_method_places_nothing(make_product):
    p = make_product(stock=5)
    with pytest.raises(payments.PaymentError):
        place(cart_of({p: 1}), payment_method="bitcoin")
    assert Product.objects.get(pk=p.pk).stock == 5 and not Order.objects.exists()


# --- the order a double click already placed ----------------------------------------------------------------------
def test_recent_order_finds_the_shoppers_last_order_only(make_product, user, other_user):
    p = make_product(stock=50)
    assert checkout.recent_order() is None and checkout.recent_order(AnonymousUser()) is None
    mine_old = place(cart_of({p: 1}), user=user)
    mine = place(cart_of({p: 1}), user=user)
    place(cart_of({p: 1}), user=other_user)
    guest = place(cart_of({p: 1}), visitor_id="vid-9")
    last = place(cart_of({p: 1}), user=user, visitor_id="vid-9")  # an account's order, not the browser's guest one
    assert checkout.recent_order(user) == last
    Order.objects.filter(pk=last.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert checkout.recent_order(user) == mine  # now the newest of the account's orders
    assert checkout.recent_order(AnonymousUser(), visitor_id="vid-9") == guest
    assert checkout.recent_order(visitor_id="vid-9") == guest
    assert checkout.recent_order(visitor_id="vid-other") is None
    Order.objects.filter(user=user).update(created_at=timezone.now() - timedelta(minutes=11))
    assert checkout.recent_order(user) is None
    assert checkout.recent_order(user, minutes=15) is not None
    Order.objects.filter(pk=mine.pk).update(created_at=timezone.now() - timedelta(minutes=9))
    assert checkout.recent_order(user) == mine


def test_a_product_whose_sizes_are_all_switched_off_sells_as_a_whole(make_product):
    mug = make_product(name="Mug", price="12.50", stock=5)
    ProductVariant.objects.create(product=mug, sku="MUG-S", size="S", stock=0, is_active=False)
    order = place(cart_of({mug: 1}))
    assert order.lines.get().variant_id is None and Product.objects.get(pk=mug.pk).stock == 4


def test_the_cheapest_delivery_is_chosen_for_the_shoppers_country(make_product, monkeypatch):
    """A merchant's method priced per country (the shipping module's extension point) is quoted for the order's
    country, not for an unknown one."""
    from shop import shipping

    class ByCountry(shipping.ShippingMethod):
        code, label = "carrier", "Carrier"

        def cost(self, subtotal, country):
            return {"DE": Decimal("3.00"), "AT": Decimal("8.00")}.get(country, Decimal("1.00"))

    monkeypatch.setattr(shipping, "methods", lambda: [ByCountry()])
    mug = make_product(name="Mug", price="12.50", stock=5)
    order = place(cart_of({mug: 1}))  # to Germany
    assert (order.shipping_method, order.shipping_cost) == ("carrier", Decimal("3.00"))


def test_lines_are_placed_in_product_order_whatever_order_they_were_added_in(make_product):
    """Locks are taken in one order (no deadlock between two checkouts) and the receipt lists lines that way."""
    a, b, c = (make_product(name=n, price="1.00", stock=5) for n in "ABC")
    tee = make_product(name="Tee", price="2.00", stock=0)
    s = ProductVariant.objects.create(product=tee, sku="TEE-S", size="S", stock=2, position=1)
    m = ProductVariant.objects.create(product=tee, sku="TEE-M", size="M", stock=2, position=0)
    Product.objects.filter(pk=tee.pk).update(stock=4)
    cart = Cart.objects.create()
    for key in ((tee, m), c, a, (tee, s), b):  # M (the newer size, the higher id) first
        product, variant = key if isinstance(key, tuple) else (key, None)
        CartLine.objects.create(cart=cart, product=product, variant=variant, quantity=1)
    order = place(cart)
    got = list(order.lines.order_by("pk").values_list("product_id", "variant_id"))
    assert got == sorted(got, key=lambda k: (k[0], k[1] or 0)) and len(got) == 5
