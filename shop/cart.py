"""Carts for anonymous visitors (the cart id lives in the session) and for users (one cart each, merged at login)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from . import pricing, sessions
from .models import Cart, CartLine, Product, ProductVariant, Promotion

SESSION_KEY = sessions.CART_SESSION_KEY  # the cart's id in an anonymous visitor's session


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


def line_keys(request) -> tuple:
    """(product id, variant id, quantity) of each line of the visitor's cart, in a fixed order (shop.sessions.
    sort_lines). A GET or HEAD takes them from the session's own read (shop.sessions: one statement for both) when
    that read found the same cart; otherwise one plain SQL statement (every page a shopper with a cart opens reads
    them, for the badge); none for a visitor without a cart in their session."""
    if request.user.is_authenticated:
        owner = ("user", request.user.pk)
        where, param = "c.user_id = %s", request.user.pk
    else:
        param = request.session.get(SESSION_KEY)
        if not isinstance(param, int):
            return ()
        owner = ("cart", param)
        where = "l.cart_id = %s AND c.user_id IS NULL"
    read = getattr(request.session, "cart_lines", None)
    if read is not None and read[0] == owner and request.method in ("GET", "HEAD"):
        return read[1]
    with connection.cursor() as cur:
        cur.execute(f"SELECT l.product_id, l.variant_id, l.quantity FROM {CartLine._meta.db_table} l "
                    f"JOIN {Cart._meta.db_table} c ON c.id = l.cart_id WHERE {where}", [param])
        return sessions.sort_lines(cur.fetchall())


def count(request) -> int:
    """Units in the visitor's cart (the badge on every page): one query, none for a visitor without a cart."""
    return sum(quantity for _, _, quantity in line_keys(request))


def resolve_variant(product: Product, variant_id) -> ProductVariant | None:
    """The variant a shopper chose for `product`, or None for a product without variants; CartError when a
    product with variants comes without one (or with one of another product)."""
    if variant_id in (None, ""):
        if product.has_sizes():
            raise CartError(f"Choose a size of {product.name}.")
        return None
    try:
        return ProductVariant.objects.get(pk=int(variant_id), product=product, is_active=True)
    except (ValueError, TypeError, ProductVariant.DoesNotExist):
        raise CartError(f"That size of {product.name} is not sold.") from None


def _check_quantity(product: Product, quantity: int, variant: ProductVariant | None = None) -> None:
    name = f"{product.name} ({variant.label})" if variant is not None else product.name
    if not product.is_active or (variant is not None and not variant.is_active):
        raise CartError(f"{name} is no longer sold.")
    if quantity < 1:
        raise CartError("Quantity must be at least 1.")
    if quantity > settings.SHOP_MAX_LINE_QUANTITY:
        raise CartError(f"At most {settings.SHOP_MAX_LINE_QUANTITY} of one product per order.")
    available = (variant or product).stock
    if quantity > available:
        raise CartError(f"Only {available} of {name} in stock." if available else f"{name} is out of stock.")


def _lock(cart: Cart) -> None:
    """Lock the cart row until the transaction ends (and mark it used, for the cleanup of old carts). Every change
    of a cart's lines takes this lock first, so two requests for one cart (two tabs, a double click) take turns
    instead of both inserting the same new line. Call inside transaction.atomic."""
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    sessions.forget_cart(cart.pk)  # its lines change next, some by a queryset update (which sends no signal)


def _line(cart: Cart, product: Product, variant: ProductVariant | None):
    return CartLine.objects.filter(cart=cart, product=product, variant=variant)


def add(cart: Cart, product: Product, quantity: int = 1, variant: ProductVariant | None = None) -> CartLine:
    """Add units of a product (of one of its variants, which a product with variants needs)."""
    if variant is None:
        variant = resolve_variant(product, None)
    with transaction.atomic():
        _lock(cart)
        line = _line(cart, product, variant).first()
        new_qty = (line.quantity if line else 0) + quantity
        _check_quantity(product, new_qty, variant)
        if line:
            line.quantity = new_qty
            line.save(update_fields=["quantity"])
        else:
            line = CartLine.objects.create(cart=cart, product=product, variant=variant, quantity=new_qty)
    return line


def set_quantity(cart: Cart, product: Product, quantity: int, variant: ProductVariant | None = None) -> None:
    if quantity <= 0:
        remove(cart, product, variant)
        return
    if variant is None:
        variant = resolve_variant(product, None)
    _check_quantity(product, quantity, variant)
    with transaction.atomic():
        _lock(cart)
        updated = _line(cart, product, variant).update(quantity=quantity)
        if not updated:
            CartLine.objects.create(cart=cart, product=product, variant=variant, quantity=quantity)


def remove(cart: Cart, product: Product, variant: ProductVariant | None = None) -> int:
    deleted, _ = _line(cart, product, variant).delete()
    return deleted


def merge_session_cart(request, user) -> None:
    """At login: move the anonymous cart's lines into the user's cart. Quantities are added and capped at the stock
    and the line limit; a product that sold out meanwhile leaves the merged cart (a cart never holds more than the
    shop has)."""
    cart_id = request.session.pop(SESSION_KEY, None)
    if not cart_id:
        return
    with transaction.atomic():
        anon = Cart.objects.filter(pk=cart_id, user=None).first()
        if anon is None:
            return
        mine, _ = Cart.objects.get_or_create(user=user)
        _lock(mine)
        existing = {(line.product_id, line.variant_id): line for line in mine.lines.all()}
        for line in anon.lines.select_related("product", "variant"):
            cap = min((line.variant or line.product).stock, settings.SHOP_MAX_LINE_QUANTITY)
            target = existing.get((line.product_id, line.variant_id))
            quantity = min((target.quantity if target else 0) + line.quantity, cap)
            if target is None:
                if quantity > 0:
                    CartLine.objects.create(cart=mine, product=line.product, variant=line.variant, quantity=quantity)
            elif quantity > 0:
                target.quantity = quantity
                target.save(update_fields=["quantity"])
            else:
                target.delete()
        anon.delete()


@dataclass
class CartRow:
    product: Product
    quantity: int
    unit_price: Decimal
    variant: ProductVariant | None = None

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
    lines = cart.lines.select_related("product", "product__category", "variant").prefetch_related(
        "product__images",
        Prefetch("product__promotions", queryset=Promotion.objects.filter(starts_on__lte=today, ends_on__gte=today),
                 to_attr="active_promotions"),
    )
    return CartSummary([CartRow(l.product, l.quantity, pricing.unit_price(l.product, today), l.variant)
                        for l in lines])
