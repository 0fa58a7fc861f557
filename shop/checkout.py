"""Turning a cart into an order: the one place that takes stock for a sale.

A checkout either places the whole order and takes all its stock, or raises and changes nothing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import order_flow, payments, pricing, stock
from .models import Cart, Order, OrderLine, OrderStatusChange
from .tasks import send_order_confirmation


class CheckoutError(Exception):
    pass


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
        if not line.product.is_active:
            raise CheckoutError(f"{line.product.name} is no longer sold.")
        if line.quantity > line.product.stock:
            raise CheckoutError(str(stock.InsufficientStock(line.product, line.quantity)))


def place_order(cart: Cart, *, email: str, address: Address, payment_method: str = "cod", user=None,
                visitor_id: str = "") -> Order:
    method = payments.get_method(payment_method)
    lines = list(cart.lines.select_related("product").order_by("product_id"))
    if not lines:
        raise CheckoutError("Your cart is empty.")
    _precheck(lines)
    today = timezone.localdate()
    with transaction.atomic():
        products = stock.lock_products(line.product_id for line in lines)
        priced = []
        for line in lines:
            product = products.get(line.product_id)
            if product is None or not product.is_active:
                raise CheckoutError(f"{line.product.name} is no longer sold.")
            priced.append((line, product, pricing.unit_price(product, today)))
        try:
            for line, product, _ in priced:
                stock.take(product, line.quantity)
        except stock.InsufficientStock as exc:
            raise CheckoutError(str(exc)) from exc
        order = Order.objects.create(
            number=new_order_number(), user=user if user and user.is_authenticated else None,
            session_key=visitor_id, email=email, currency=settings.SHOP_CURRENCY, payment_method=method.code,
            total=sum(price * line.quantity for line, _, price in priced),
            full_name=address.full_name, address_line1=address.address_line1, address_line2=address.address_line2,
            city=address.city, postal_code=address.postal_code, country=address.country.upper(),
        )
        OrderLine.objects.bulk_create([
            OrderLine(order=order, product=product, sku=product.sku, name=product.name, unit_price=price,
                      quantity=line.quantity)
            for line, product, price in priced
        ])
        OrderStatusChange.objects.create(order=order, from_status="", to_status=order.status, note="placed")
        result = method.authorize(order)  # raising here rolls everything back, stock included
        order.payment_reference = result.reference
        order.save(update_fields=["payment_reference"])
        if result.captured:
            order_flow.transition(order, Order.Status.PAID, note="payment captured")
        cart.lines.all().delete()
        transaction.on_commit(lambda: send_order_confirmation.delay(order.pk))
    return order
