"""The store's data: catalog, stock-outs and promotions, carts, orders, and the storefront event log."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.validators import MinValueValidator, MaxValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, related_name="children", on_delete=models.PROTECT)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return f"{self.parent.name} / {self.name}" if self.parent_id and self.parent else self.name

    def get_absolute_url(self):
        return reverse("shop:category", args=[self.slug])


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_listing(self):
        """What a list page needs, in a constant number of queries whatever the page size."""
        today = timezone.localdate()
        return (
            self.active()
            .select_related("category")
            .prefetch_related(
                models.Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")),
                models.Prefetch("variants", queryset=ProductVariant.objects.filter(is_active=True),
                                to_attr="active_variants"),
                models.Prefetch(
                    "promotions",
                    queryset=Promotion.objects.filter(starts_on__lte=today, ends_on__gte=today),
                    to_attr="active_promotions",
                ),
            )
        )


class Product(models.Model):
    category = models.ForeignKey(Category, related_name="products", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    sku = models.CharField("SKU", max_length=64, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    stock = models.PositiveIntegerField(default=0, help_text="With variants: the sum of their stock (kept by "
                                                             "shop.stock; change it per variant)")
    attributes = models.JSONField(default=dict, blank=True, help_text='Key-values, e.g. {"colour": "blue"}')
    is_active = models.BooleanField(default=True)
    popularity = models.PositiveIntegerField(default=0, help_text="Units sold in the last 30 days")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Maintained by a database trigger on PostgreSQL (migration 0002), GIN-indexed; unused (NULL) on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["category", "is_active", "price"]),
            models.Index(fields=["category", "is_active", "-popularity"]),
            models.Index(fields=["category", "is_active", "-created_at"]),
            # the most popular products on sale: a recommendation slot's fill (recommender.results), whatever
            # the catalog's size
            models.Index(fields=["-popularity", "name", "id"], condition=Q(is_active=True, stock__gt=0),
                         name="shop_product_popular_on_sale"),
        ]
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("shop:product", args=[self.slug])

    @property
    def main_image(self):
        images = list(self.images.all())  # uses the prefetch when there is one
        return images[0] if images else None

    @property
    def in_stock(self):
        return self.stock > 0

    def has_sizes(self) -> bool:
        """Is it sold by size (an active variant)? Then its stock is theirs and a cart line needs one."""
        return self.variants.filter(is_active=True).exists()

    @staticmethod
    def sized_ids(product_ids) -> set[int]:
        """Which of these products are sold by size: ``has_sizes`` for many, in one query."""
        return set(ProductVariant.objects.filter(product_id__in=list(product_ids), is_active=True)
                   .values_list("product_id", flat=True).distinct())

    def sellable_variants(self) -> list["ProductVariant"]:
        """Active variants, from the for_listing prefetch when there is one."""
        found = getattr(self, "active_variants", None)
        return list(found) if found is not None else list(self.variants.filter(is_active=True))


class ProductVariant(models.Model):
    """A size (and colour, where it differs) of a product with its own SKU and stock.

    A product with active variants is bought by variant; its `stock` is the sum of their stock, kept in step by
    shop.stock under the product's row lock, so lists and the ML data keep reading one number per product.
    """

    product = models.ForeignKey(Product, related_name="variants", on_delete=models.CASCADE)
    sku = models.CharField("SKU", max_length=64, unique=True)
    size = models.CharField(max_length=20, blank=True)
    colour = models.CharField(max_length=40, blank=True, help_text="Only where it differs between variants")
    stock = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["product", "size", "colour"], name="one_variant_per_option")]
        indexes = [models.Index(fields=["product", "is_active", "size"])]

    def __str__(self):
        return f"{self.product.name} ({self.label})" if self.product_id else self.label

    @property
    def label(self) -> str:
        return ", ".join(v for v in (self.colour, self.size) if v) or self.sku

    @property
    def in_stock(self):
        return self.stock > 0


def product_image_path(instance, filename):
    return f"products/{instance.product_id}/{filename}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, related_name="images", on_delete=models.CASCADE)
    image = models.ImageField(upload_to=product_image_path)
    thumbnail = models.ImageField(upload_to=product_image_path, blank=True)
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    alt = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the image bytes")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.alt or self.image.name

    @property
    def thumb_url(self):
        return (self.thumbnail or self.image).url


class Promotion(models.Model):
    product = models.ForeignKey(Product, related_name="promotions", on_delete=models.CASCADE)
    starts_on = models.DateField()
    ends_on = models.DateField()
    discount_percent = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(90)])

    class Meta:
        ordering = ["-starts_on"]
        indexes = [models.Index(fields=["product", "starts_on", "ends_on"])]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")),
                                              name="promotion_ends_after_start")]

    def __str__(self):
        return f"-{self.discount_percent}% {self.product} {self.starts_on}..{self.ends_on}"


class StockOut(models.Model):
    """A period in which the product had no stock; opened when a sale empties it, closed by a restock."""

    product = models.ForeignKey(Product, related_name="stockouts", on_delete=models.CASCADE)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["product", "started_at"])]
        constraints = [models.UniqueConstraint(fields=["product"], condition=Q(ended_at__isnull=True),
                                               name="one_open_stockout_per_product")]


class Cart(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    session_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, related_name="lines", on_delete=models.CASCADE)
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    variant = models.ForeignKey(ProductVariant, null=True, blank=True, on_delete=models.CASCADE)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], condition=Q(variant=None), name="one_line_per_product"),
            models.UniqueConstraint(fields=["cart", "variant"], condition=Q(variant__isnull=False),
                                    name="one_line_per_variant"),
        ]


class Session(AbstractBaseSession):
    """A visitor's session (the SESSION_ENGINE ``shop.sessions``): Django's database session plus two columns written
    from its data at every save, the signed-in user's id and the anonymous cart's id, so that the session and the
    cart's lines are read with one statement (shop/sessions.py). The data stays the truth: a reader uses the lines
    only when the columns say the same as the decoded data."""

    user_id = models.BigIntegerField(null=True, blank=True)
    cart_id = models.BigIntegerField(null=True, blank=True)

    @classmethod
    def get_session_store_class(cls):
        from .sessions import SessionStore

        return SessionStore


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    number = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, related_name="orders",
                             on_delete=models.SET_NULL)
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    email = models.EmailField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    full_name = models.CharField(max_length=200)
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, help_text="ISO 3166 code")
    payment_method = models.CharField(max_length=32)
    payment_reference = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, db_default=0, help_text="The lines' sum")
    shipping_method = models.CharField(max_length=32, blank=True, db_default="")
    shipping_cost = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    vat = models.DecimalField("VAT", max_digits=12, decimal_places=2, db_default=0,
                              help_text="The VAT in the total (included in the prices or added to them)")
    vat_rate = models.DecimalField("VAT rate (%)", max_digits=5, decimal_places=2, db_default=0)
    prices_include_vat = models.BooleanField(db_default=True)
    total = models.DecimalField(max_digits=12, decimal_places=2, help_text="What the customer pays")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("shop:order_detail", args=[self.number])


class OrderLine(models.Model):
    order = models.ForeignKey(Order, related_name="lines", on_delete=models.CASCADE)
    product = models.ForeignKey(Product, null=True, related_name="order_lines", on_delete=models.SET_NULL)
    variant = models.ForeignKey(ProductVariant, null=True, blank=True, related_name="order_lines",
                                on_delete=models.SET_NULL)
    sku = models.CharField(max_length=64, help_text="The variant's SKU where there is one")
    name = models.CharField(max_length=200)
    variant_label = models.CharField(max_length=80, blank=True, db_default="", help_text='e.g. "M" or "blue, M"')
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["id"]

    def __str__(self):
        what = f"{self.name} {self.variant_label}" if self.variant_label else self.name
        return f"{self.quantity} × {what} ({self.sku})"

    @property
    def line_total(self):
        return self.unit_price * self.quantity


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, related_name="status_changes", on_delete=models.CASCADE)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        labels = dict(Order.Status.choices)
        return f"{labels.get(self.from_status, 'new')} → {labels.get(self.to_status, self.to_status)}"


class Event(models.Model):
    """A storefront event. Purchases are not logged here: they are order lines (see shop.analytics).

    ``data`` holds details the app that logged the event attached (JSON, optional): an impression's place, the
    products shown and the label of its links (``ref``); a product view reached through such a link carries that
    ``ref`` too, so a click can be told from an impression."""

    class Kind(models.TextChoices):
        VIEW = "view", "Product view"
        CART_ADD = "cart_add", "Add to cart"
        CART_REMOVE = "cart_remove", "Remove from cart"
        SEARCH = "search", "Search"
        IMPRESSION = "impression", "Products shown"

    class Source(models.TextChoices):
        LIST = "list", "Category or list page"
        SEARCH = "search", "Search results"
        RECOMMENDATION = "recommendation", "Recommendation"
        DIRECT = "direct", "Direct"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    session_key = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             db_constraint=False)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False)
    variant = models.ForeignKey(ProductVariant, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                                related_name="+")
    quantity = models.IntegerField(default=1)
    source = models.CharField(max_length=16, choices=Source.choices, blank=True)
    query = models.CharField(max_length=200, blank=True)
    data = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["product", "kind", "at"]),
                   models.Index(fields=["kind", "source", "at"], name="shop_event_kind_source_at")]


class OutboxEmail(models.Model):
    """An email to send, written in the same transaction as what it reports (an order), so it is never lost when
    the broker is down; a worker sends it and marks it sent (shop.outbox). `key` makes queueing idempotent."""

    key = models.CharField(max_length=100, unique=True)
    to = models.EmailField()
    reply_to = models.EmailField(blank=True, help_text="Where a reply goes (a customer who asked for help)")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_unsent")]

    def __str__(self):
        return f"{self.subject} -> {self.to}"


class CacheVersion(models.Model):
    """A change counter that cached pages and fragments are keyed on (shop/versions.py): "site" (categories, shop
    pages, imports), "lists" (anything a product list shows), "p<id>" (everything one product page shows). Bumped
    after each change is committed; web processes read the rows that changed, at most every
    SHOP_CACHE_FRESHNESS_SECONDS."""

    key = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(db_index=True)

    def __str__(self):
        return f"{self.key}={self.value}"
