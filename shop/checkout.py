"""Turning a cart into an order: the one place that takes stock for a sale.

A checkout either places the whole order and takes all its stock, or raises and changes nothing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import order_flow, payments, pricing, shipping, stock
from .models import Cart, Order, OrderLine, OrderStatusChange, Product, ProductVariant
from .tasks import queue_order_confirmation


class CheckoutError(Exception):
    pass


class EmptyCart(CheckoutError):
    """The cart has no lines, for example because a second request for it (a double click) just ordered it."""

    def __init__(self, message: str = "Your cart is empty."):
        super().__init__(message)


@dataclass
class Address:
    full_name: str
    address_line1: str
    city: str
    postal_code: str
    country: str
    address_line2: str = ""


def new_order_number() -> str:
    return timezone.now().strftime("%y%m%d") + "-" + secrets.token_hex(4).upper()


def _precheck(lines) -> None:
    """A friendly early answer from data read without locks. The locked check in place_order is the real one."""
    for line in lines:
        if not line.product.is_active or (line.variant is not None and not line.variant.is_active):
            raise CheckoutError(f"{line.product.name} is no longer sold.")
        if line.quantity > (line.variant or line.product).stock:
            raise CheckoutError(str(stock.InsufficientStock(line.product, line.quantity, line.variant)))


def _lines(cart: Cart) -> list:
    return list(cart.lines.select_related("product", "variant").order_by("product_id", "variant_id", "pk"))


def _shipping(code: str | None, subtotal, country: str) -> shipping.Quote:
    """The delivery the shopper chose (or the cheapest when none was named), priced on the server."""
    try:
        if code:
            return shipping.quote(code, subtotal, country)
        shipping.check_country(country)
        options = shipping.quotes(subtotal, country)
        if not options:
            raise shipping.ShippingError("No delivery option is available for this order.")
        return options[0]
    except shipping.ShippingError as exc:
        raise CheckoutError(str(exc)) from exc


def place_order(cart: Cart, *, email: str, address: Address, payment_method: str = "cod", user=None,
                visitor_id: str = "", shipping_method: str | None = None) -> Order:
    """Place the cart as one order. One cart becomes at most one order whatever the timing (a double click, two
    tabs, a retried request): the cart row is locked first and its lines are read again under that lock, so a
    second checkout of the same cart waits for the first and then finds it empty (EmptyCart)."""
    method = payments.get_method(payment_method)
    lines = _lines(cart)
    if not lines:
        raise EmptyCart()
    _precheck(lines)
    today = timezone.localdate()
    with transaction.atomic():
        # Lock order everywhere: the cart, then its products in primary-key order.
        if not Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk", flat=True):
            raise EmptyCart()
        lines = _lines(cart)
        if not lines:
            raise EmptyCart()
        # The products' row locks guard their variants too (shop/stock.py); variants are read under them.
        products = stock.lock_products(line.product_id for line in lines)
        variants = ProductVariant.objects.in_bulk([line.variant_id for line in lines if line.variant_id])
        sized = Product.sized_ids(line.product_id for line in lines if not line.variant_id)
        priced = []
        for line in lines:
            product = products.get(line.product_id)
            variant = variants.get(line.variant_id) if line.variant_id else None
            if product is None or not product.is_active or (line.variant_id and (variant is None
                                                                                  or not variant.is_active)):
                raise CheckoutError(f"{line.product.name} is no longer sold.")
            if variant is None and product.pk in sized:
                raise CheckoutError(f"Choose a size of {product.name} in your cart.")
            priced.append((line, product, variant, pricing.unit_price(product, today)))
        try:
            for line, product, variant, _ in priced:
                stock.take(product, line.quantity, variant)
        except stock.InsufficientStock as exc:
            raise CheckoutError(str(exc)) from exc
        subtotal = sum((price * line.quantity for line, _, _, price in priced), Decimal("0.00"))
        delivery = _shipping(shipping_method, subtotal, address.country)
        totals = pricing.totals(subtotal, delivery.cost)
        order = Order.objects.create(
            number=new_order_number(), user=user if user and user.is_authenticated else None,
            session_key=visitor_id, email=email, currency=settings.SHOP_CURRENCY, payment_method=method.code,
            subtotal=totals.subtotal, shipping_method=delivery.code, shipping_cost=totals.shipping, vat=totals.vat,
            vat_rate=totals.vat_rate, prices_include_vat=totals.prices_include_vat, total=totals.total,
            full_name=address.full_name, address_line1=address.address_line1, address_line2=address.address_line2,
            city=address.city, postal_code=address.postal_code, country=address.country.upper(),
        )
        OrderLine.objects.bulk_create([
            OrderLine(order=order, product=product, variant=variant, sku=(variant or product).sku,
                      name=product.name, variant_label=variant.label if variant else "", unit_price=price,
                      quantity=line.quantity)
            for line, product, variant, price in priced
        ])
        OrderStatusChange.objects.create(order=order, from_status="", to_status=order.status, note="placed")
        result = method.authorize(order)  # raising here rolls everything back, stock included
        order.payment_reference = result.reference
        order.save(update_fields=["payment_reference"])
        if result.captured:
            order_flow.transition(order, Order.Status.PAID, note="payment captured")
        cart.lines.all().delete()
        # The email is an outbox row committed with the order; sending it is asked for after the commit and can
        # never fail the checkout (shop.outbox).
        queue_order_confirmation(order)
    return order


def recent_order(user=None, visitor_id: str = "", minutes: int = 10) -> Order | None:
    """The order this shopper (account or browser) placed in the last minutes: what a checkout that found its cart
    already ordered (a double click) shows instead of an error."""
    since = timezone.now() - timedelta(minutes=minutes)
    if user is not None and user.is_authenticated:
        qs = Order.objects.filter(user=user)
    elif visitor_id:
        qs = Order.objects.filter(user=None, session_key=visitor_id)
    else:
        return None
    return qs.filter(created_at__gte=since).order_by("-created_at", "-id").first()
