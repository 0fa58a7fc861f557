"""Stock: every change of Product.stock and ProductVariant.stock goes through here.

Rules (Saleor's house rules): lock rows with select_for_update in primary-key order so two transactions never
wait on each other in opposite orders; change stock with F() expressions guarded by the database, never
check-then-write in Python; open and close StockOut periods in the same transaction as the change.

Variants: a product's row lock guards its variants too. Every variant change happens under the lock of its
product (taken in primary-key order with the other products of the order) and moves the product's `stock` by the
same amount, so `Product.stock` is always the sum of its active variants' stock and lists, filters and the ML
data read one number per product. Stock-out periods stay per product: open when the last unit of the last size
goes, closed when any comes back.

Cached pages: every change bumps the product's version (its page shows the count); the lists' version only when a
product or a size runs out or comes back (lists show no more than that), see shop/versions.py.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from . import versions
from .models import Product, ProductVariant, StockOut


class InsufficientStock(Exception):
    def __init__(self, product, requested, variant=None):
        self.product = product
        self.variant = variant
        self.requested = requested
        available = max((variant or product).stock, 0)
        what = f"{product.name} ({variant.label})" if variant is not None else product.name
        super().__init__(
            f"Only {available} of {what} left; you asked for {requested}." if available
            else f"{what} is out of stock."
        )


def lock_products(product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock these products until the transaction ends, in primary-key order. Call inside transaction.atomic."""
    assert transaction.get_connection().in_atomic_block, "lock_products needs a transaction"
    ids = sorted(set(product_ids))
    return {p.pk: p for p in Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def _stock_out_opens(product: Product) -> None:
    StockOut.objects.get_or_create(product=product, ended_at=None, defaults={"started_at": timezone.now()})


def _stock_out_closes(product_id: int) -> None:
    StockOut.objects.filter(product_id=product_id, ended_at=None).update(ended_at=timezone.now())


def take(product: Product, quantity: int, variant: ProductVariant | None = None) -> int:
    """Take `quantity` units (of `variant`, when given); raise InsufficientStock if there are not enough. The
    caller holds the product's lock (lock_products). Returns the product's stock left."""
    if variant is not None:
        updated = (ProductVariant.objects.filter(pk=variant.pk, product_id=product.pk, stock__gte=quantity)
                   .update(stock=F("stock") - quantity))
        if updated != 1:
            variant.refresh_from_db(fields=["stock"])
            raise InsufficientStock(product, quantity, variant)
        variant.stock -= quantity
    updated = Product.objects.filter(pk=product.pk, stock__gte=quantity).update(stock=F("stock") - quantity)
    if updated != 1:
        product.refresh_from_db(fields=["stock"])
        raise InsufficientStock(product, quantity)
    product.stock -= quantity
    if product.stock == 0:
        _stock_out_opens(product)
    versions.products_changed(product.pk, lists=product.stock == 0 or (variant is not None and variant.stock == 0))
    return product.stock


def give_back(product_id: int, quantity: int, variant_id: int | None = None) -> None:
    """Return units to stock (a cancelled or refunded order) and close an open stock-out. The caller holds the
    product's lock."""
    versions.products_changed(product_id)
    if variant_id is not None and ProductVariant.objects.filter(pk=variant_id, product_id=product_id).update(
            stock=F("stock") + quantity) and ProductVariant.objects.filter(product_id=product_id,
                                                                            is_active=True).exists():
        sync_product_stock(Product(pk=product_id))  # the sum of the active variants, the variant's units included
        return
    # no variant (any more), or none of its sizes is sold any more: the product counts its own stock
    Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)
    if quantity > 0:
        _stock_out_closes(product_id)


def set_stock(product: Product, new_stock: int) -> None:
    """A manager's count or a delivery of a product without variants: set the level and open or close the
    stock-out period. A product with variants is counted per variant (set_variant_stock)."""
    with transaction.atomic():
        locked = lock_products([product.pk])[product.pk]
        if locked.has_sizes():
            raise ValueError(f"{locked.name} has variants: set the stock of each one.")
        Product.objects.filter(pk=product.pk).update(stock=new_stock)
        versions.products_changed(product.pk)
        if new_stock > 0:
            _stock_out_closes(locked.pk)
        elif locked.stock > 0:
            _stock_out_opens(locked)
    product.stock = new_stock


def sync_product_stock(product: Product) -> int:
    """Set a product's stock to the sum of its active variants (after variants were added, removed, switched on or
    off, or counted), opening or closing its stock-out period. The caller holds the product's lock."""
    total = ProductVariant.objects.filter(product_id=product.pk, is_active=True).aggregate(n=Sum("stock"))["n"]
    if total is None:  # no active variants (left): the product keeps its own stock
        return product.stock
    before = Product.objects.filter(pk=product.pk).values_list("stock", flat=True).get()
    Product.objects.filter(pk=product.pk).update(stock=total)
    versions.products_changed(product.pk)
    if total > 0 and before == 0:
        _stock_out_closes(product.pk)
    elif total == 0 and before > 0:
        _stock_out_opens(product)
    product.stock = total
    return total


def set_variant_stock(variant: ProductVariant, new_stock: int) -> None:
    """A manager's count or a delivery of one variant."""
    with transaction.atomic():
        product = lock_products([variant.product_id])[variant.product_id]
        ProductVariant.objects.filter(pk=variant.pk).update(stock=new_stock)
        versions.products_changed(variant.product_id)
        variant.stock = new_stock
        sync_product_stock(product)
