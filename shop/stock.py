"""Stock: every change of Product.stock goes through here.

Rules (Saleor's house rules): lock rows with select_for_update in primary-key order so two transactions never
wait on each other in opposite orders; change stock with F() expressions guarded by the database, never
check-then-write in Python; open and close StockOut periods in the same transaction as the change.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Product, StockOut


class InsufficientStock(Exception):
    def __init__(self, product, requested):
        self.product = product
        self.requested = requested
        available = max(product.stock, 0)
        super().__init__(
            f"Only {available} of {product.name} left; you asked for {requested}." if available
            else f"{product.name} is out of stock."
        )


def lock_products(product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock these products until the transaction ends, in primary-key order. Call inside transaction.atomic."""
    assert transaction.get_connection().in_atomic_block, "lock_products needs a transaction"
    ids = sorted(set(product_ids))
    return {p.pk: p for p in Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def take(product: Product, quantity: int) -> int:
    """Take `quantity` units; raise InsufficientStock if there are not enough. Returns the stock left."""
    updated = Product.objects.filter(pk=product.pk, stock__gte=quantity).update(stock=F("stock") - quantity)
    if updated != 1:
        product.refresh_from_db(fields=["stock"])
        raise InsufficientStock(product, quantity)
    product.stock -= quantity
    if product.stock == 0:
        StockOut.objects.get_or_create(product=product, ended_at=None, defaults={"started_at": timezone.now()})
    return product.stock


def give_back(product_id: int, quantity: int) -> None:
    """Return units to stock (a cancelled or refunded order) and close an open stock-out."""
    Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)
    if quantity > 0:
        StockOut.objects.filter(product_id=product_id, ended_at=None).update(ended_at=timezone.now())


def set_stock(product: Product, new_stock: int) -> None:
    """A manager's count or a delivery: set the level and open or close the stock-out period."""
    with transaction.atomic():
        locked = lock_products([product.pk])[product.pk]
        Product.objects.filter(pk=product.pk).update(stock=new_stock)
        if new_stock > 0:
            StockOut.objects.filter(product=locked, ended_at=None).update(ended_at=timezone.now())
        elif locked.stock > 0:
            StockOut.objects.get_or_create(product=locked, ended_at=None, defaults={"started_at": timezone.now()})
    product.stock = new_stock
