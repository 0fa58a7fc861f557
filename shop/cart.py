"""Carts for anonymous visitors (the cart id lives in the session) and for users (one cart each, merged at login)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from . import pricing
from .models import Cart, CartLine, Product, Promotion

SESSION_KEY = "cart_id"


class CartError(Exception):
    pass


def get_cart(request, create: bool = False) -> Cart | None:
    user = request.user if request.user.is_authenticated else None
    cart = None
    if user:
        cart = Cart.objects.filter(user=user).first()
        if cart is None and create:
            cart, _ = Cart.objects.get_or_create(user=user)
    else:
        cart_id = request.session.get(SESSION_KEY)
        if cart_id:
            cart = Cart.objects.filter(pk=cart_id, user=None).first()
        if cart is None and create:
            cart = Cart.objects.create()
            request.session[SESSION_KEY] = cart.pk
    return cart


def _check_quantity(product: Product, quantity: int) -> None:
    if not product.is_active:
        raise CartError(f"{product.name} is no longer sold.")
    if quantity < 1:
        raise CartError("Quantity must be at least 1.")
    if quantity > settings.SHOP_MAX_LINE_QUANTITY:
        raise CartError(f"At most {settings.SHOP_MAX_LINE_QUANTITY} of one product per order.")
    if quantity > product.stock:
        raise CartError(f"Only {product.stock} of {product.name} in stock." if product.stock
                        else f"{product.name} is out of stock.")


def add(cart: Cart, product: Product, quantity: int = 1) -> CartLine:
    with transaction.atomic():
        line = CartLine.objects.select_for_update().filter(cart=cart, product=product).first()
        new_qty = (line.quantity if line else 0) + quantity
        _check_quantity(product, new_qty)
        if line:
            line.quantity = new_qty
            line.save(update_fields=["quantity"])
        else:
            line = CartLine.objects.create(cart=cart, product=product, quantity=new_qty)
    return line


def set_quantity(cart: Cart, product: Product, quantity: int) -> None:
    if quantity <= 0:
        remove(cart, product)
        return
    _check_quantity(product, quantity)
    CartLine.objects.update_or_create(cart=cart, product=product, defaults={"quantity": quantity})


def remove(cart: Cart, product: Product) -> int:
    deleted, _ = CartLine.objects.filter(cart=cart, product=product).delete()
    return deleted


def merge_session_cart(request, user) -> None:
    """At login: move the anonymous cart's lines into the user's cart (quantities added, capped at stock)."""
    cart_id = request.session.pop(SESSION_KEY, None)
    if not cart_id:
        return
    with transaction.atomic():
        anon = Cart.objects.filter(pk=cart_id, user=None).first()
        if anon is None:
            return
        mine, _ = Cart.objects.get_or_create(user=user)
        existing = {line.product_id: line for line in mine.lines.select_related("product")}
        for line in anon.lines.select_related("product"):
            cap = min(line.product.stock, settings.SHOP_MAX_LINE_QUANTITY)
            if line.product_id in existing:
                target = existing[line.product_id]
                target.quantity = max(1, min(target.quantity + line.quantity, cap))
                target.save(update_fields=["quantity"])
            elif cap > 0:
                CartLine.objects.create(cart=mine, product=line.product, quantity=min(line.quantity, cap))
        anon.delete()


@dataclass
class CartRow:
    product: Product
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class CartSummary:
    rows: list[CartRow]

    @property
    def total(self) -> Decimal:
        return sum((r.line_total for r in self.rows), Decimal("0.00"))

    @property
    def count(self) -> int:
        return sum(r.quantity for r in self.rows)


def summary(cart: Cart | None) -> CartSummary:
    if cart is None:
        return CartSummary([])
    today = timezone.localdate()
    lines = cart.lines.select_related("product", "product__category").prefetch_related(
        "product__images",
        Prefetch("product__promotions", queryset=Promotion.objects.filter(starts_on__lte=today, ends_on__gte=today),
                 to_attr="active_promotions"),
    )
    return CartSummary([CartRow(l.product, l.quantity, pricing.unit_price(l.product, today)) for l in lines])
