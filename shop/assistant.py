"""What the chat assistant may read and do in the shop: a narrow door, like `shop.analytics` is for the engines.

The chatbot app never queries shop tables itself; it calls these functions, which return plain records
(dataclasses of str, int, Decimal, date). Every read is a constant number of queries whatever the number of
products asked about.

Catalog
    catalog_version()            a short string that changes whenever the sellable catalog changes
    catalog_entries()            every active product: id, sku, name, category, parent category, attributes (with
                                 the sizes and colours of its active variants)
    product_facts(ids)           price today (promotion applied), list price, discount and its end, stock, when it
                                 ran out, attributes, url, photo, its active variants (size, colour, SKU, stock), in
                                 the order of `ids` (inactive ones left out); two queries whatever the number
    find_products(...)           search with filters (words, category, price range on today's price, attribute
                                 values, sizes of active variants, in stock), best first

Orders (the caller's own only; a number that is someone else's is reported exactly like one that does not exist)
    orders_in_session(session)   order numbers placed in this browser session
    own_order(number, user, session_numbers)          -> OrderFacts | None
    own_orders(user, session_numbers, limit)          -> newest first
    cancel_own_order(number, user, session_numbers)   through shop.order_flow; raises OrderNotFound/CannotCancel

Policies
    shop_facts()                 shipping rates, free-shipping threshold, VAT, return days, contact address,
                                 shipping countries, payment methods, currency: what the shop actually does
    shop_pages()                 the shop's own information pages (flatpages of this site): url -> title, text
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from html import unescape

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import (BooleanField, Count, DecimalField, Exists, ExpressionWrapper, F, Max, OuterRef, Q,
                              Subquery, Value)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import dateparse, timezone

from . import order_flow, payments, pricing, shipping
from .models import Category, Order, Product, ProductImage, ProductVariant, Promotion, StockOut
from .search import search_products
from .views import ORDERS_IN_SESSION


class OrderNotFound(Exception):
    """No order of the caller's with that number (it may exist for someone else: we do not say)."""


class CannotCancel(Exception):
    """The order exists and is the caller's, but its status does not allow cancelling any more."""


# -- catalog ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogEntry:
    id: int
    sku: str
    name: str
    category: str
    parent_category: str
    attributes: dict = field(compare=False, hash=False)


@dataclass(frozen=True)
class VariantFacts:
    sku: str
    size: str
    colour: str
    stock: int

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def label(self) -> str:
        return ", ".join(v for v in (self.colour, self.size) if v) or self.sku


@dataclass(frozen=True)
class ProductFacts:
    id: int
    sku: str
    name: str
    url: str
    category: str
    price: Decimal  # what it costs today (promotion applied)
    list_price: Decimal
    discount_percent: int  # 0 when no promotion runs today
    promotion_ends: date | None
    stock: int  # with variants: the sum of theirs
    out_of_stock_since: datetime | None  # when the current stock-out began (the last moment it was available)
    attributes: dict = field(compare=False, hash=False)
    image_url: str = ""
    variants: tuple = ()  # VariantFacts of the active variants, in the shop's order (empty: sold as one item)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


def catalog_version() -> str:
    agg = Product.objects.filter(is_active=True).aggregate(n=Count("id"), t=Max("updated_at"))
    cats = Category.objects.aggregate(n=Count("id"), m=Max("id"))
    variants = ProductVariant.objects.filter(is_active=True).aggregate(n=Count("id"), m=Max("id"))
    return (f"{agg['n']}:{agg['t'].isoformat() if agg['t'] else '-'}:{cats['n']}:{cats['m']}:"
            f"{variants['n']}:{variants['m']}")


def _variant_options(product_ids=None) -> dict[int, dict[str, list[str]]]:
    """product id -> {"sizes": [...], "colour": [...]} of its active variants (in the shop's order)."""
    qs = ProductVariant.objects.filter(is_active=True)
    if product_ids is not None:
        qs = qs.filter(product_id__in=product_ids)
    out: dict[int, dict[str, list[str]]] = {}
    for pid, size, colour in qs.order_by("product_id", "position", "id").values_list("product_id", "size", "colour"):
        opts = out.setdefault(pid, {"sizes": [], "colour": []})
        if size and size not in opts["sizes"]:
            opts["sizes"].append(size)
        if colour and colour not in opts["colour"]:
            opts["colour"].append(colour)
    return out


def catalog_entries() -> list[CatalogEntry]:
    """Active products for matching names, attribute values and categories. A product's variant sizes (and
    colours, where they differ) are in its attributes as lists ("sizes": "S,M,L"), as the product page offers them."""
    rows = (Product.objects.filter(is_active=True).order_by("pk")
            .values_list("pk", "sku", "name", "category__name", "category__parent__name", "attributes"))
    options = _variant_options()
    out = []
    for pk, sku, name, cat, parent, attrs in rows:
        attrs = dict(attrs) if isinstance(attrs, dict) else {}
        for key, values in options.get(pk, {}).items():
            if values:
                attrs[key] = ",".join(values)
        out.append(CatalogEntry(pk, sku, name, cat or "", parent or "", attrs))
    return out


def _facts_sql(n: int) -> str:
    """One query for what a reply needs about `n` products: the row, its category, today's best promotion, the
    first photo, the open stock-out and the active variants (as JSON). Hand-written: the ORM's five correlated
    subqueries cost more CPU to build and compile (about 5 ms) than the database takes to run them; the SQL is
    standard apart from the JSON aggregate, written for PostgreSQL and SQLite."""
    t = {m.__name__: m._meta.db_table for m in (Product, Category, Promotion, ProductImage, StockOut, ProductVariant)}
    promo = (f"FROM {t['Promotion']} pr WHERE pr.product_id = p.id AND pr.starts_on <= %s AND pr.ends_on >= %s "
             "ORDER BY pr.discount_percent DESC, pr.starts_on DESC LIMIT 1")
    if connection.vendor == "postgresql":
        variants = (f"SELECT json_agg(json_build_array(v.sku, v.size, v.colour, v.stock) ORDER BY v.position, v.id) "
                    f"FROM {t['ProductVariant']} v WHERE v.product_id = p.id AND v.is_active")
    else:  # SQLite: the order comes from the inner query
        variants = (f"SELECT json_group_array(json_array(v.sku, v.size, v.colour, v.stock)) FROM (SELECT sku, size, "
                    f"colour, stock FROM {t['ProductVariant']} WHERE product_id = p.id AND is_active "
                    "ORDER BY position, id) v")
    return (
        f"SELECT p.id, p.sku, p.name, p.slug, p.price, p.stock, p.attributes, c.name, "
        f"(SELECT pr.discount_percent {promo}), (SELECT pr.ends_on {promo}), "
        f"(SELECT COALESCE(NULLIF(i.thumbnail, ''), i.image) FROM {t['ProductImage']} i WHERE i.product_id = p.id "
        "ORDER BY i.position, i.id LIMIT 1), "
        f"(SELECT s.started_at FROM {t['StockOut']} s WHERE s.product_id = p.id AND s.ended_at IS NULL "
        "ORDER BY s.started_at DESC LIMIT 1), "
        f"({variants}) "
        f"FROM {t['Product']} p JOIN {t['Category']} c ON c.id = p.category_id "
        f"WHERE p.is_active AND p.id IN ({', '.join(['%s'] * n)})")


def _as_date(value) -> date | None:
    return dateparse.parse_date(value) if isinstance(value, str) else value


def _as_datetime(value) -> datetime | None:
    if isinstance(value, str):  # SQLite: naive UTC text
        value = dateparse.parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)
    return value


def _as_json(value, default):
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    return default if value is None else value


def product_facts(ids) -> list[ProductFacts]:
    """Facts about these products in the order of `ids` (inactive or unknown ones left out): one query."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    if not ids:
        return []
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(_facts_sql(len(ids)), [today, today, today, today, *ids])
        rows = {r[0]: r for r in cursor.fetchall()}
    out = []
    for pk in ids:
        if pk not in rows:
            continue
        _, sku, name, slug, price, stock, attrs, category, pct, ends, image, since, variants = rows[pk]
        price = Decimal(str(price)).quantize(pricing.CENT)
        pct = int(pct or 0)
        try:
            image_url = default_storage.url(image) if image else ""
        except (ValueError, NotImplementedError):
            image_url = ""
        attrs = _as_json(attrs, {})
        out.append(ProductFacts(
            id=pk, sku=sku, name=name, url=reverse("shop:product", args=[slug]), category=category or "",
            price=pricing.discounted(price, pct), list_price=price, discount_percent=pct,
            promotion_ends=_as_date(ends) if pct else None, stock=int(stock),
            out_of_stock_since=_as_datetime(since) if stock <= 0 else None,
            attributes=dict(attrs) if isinstance(attrs, dict) else {}, image_url=image_url,
            variants=tuple(VariantFacts(v_sku, v_size or "", v_colour or "", int(v_stock))
                           for v_sku, v_size, v_colour, v_stock in _as_json(variants, []))))
    return out


def _list_pattern(value: str) -> str:
    """A regex matching `value` as one item of a list attribute ("XS,S,M,L" or "S/M,L/XL")."""
    return rf"(^|[,/])\s*{re.escape(value)}\s*([,/]|$)"


def find_products(words: str = "", category: str | None = None, min_price: Decimal | None = None,
                  max_price: Decimal | None = None, attributes: dict | None = None, in_stock: bool | None = None,
                  limit: int = 5) -> tuple[list[ProductFacts], int]:
    """Active products matching every filter, best first (search rank, then in stock, then popular); and how
    many match in all. `category` is a category name (its children included); prices are today's prices;
    `attributes` maps an attribute name to a value that must equal it or be one item of its list; a size (a key
    with "size" in it) or a colour may also be an active variant's."""
    today = timezone.localdate()
    qs = Product.objects.active()
    if category:
        qs = qs.filter(Q(category__name__iexact=category) | Q(category__parent__name__iexact=category))
    first = []  # with a size or colour asked for: the products that have it in stock first
    for key, value in (attributes or {}).items():
        cond = Q(**{f"attributes__{key}__iregex": _list_pattern(str(value))})
        if "size" in key.lower() or key.lower() in ("colour", "color"):
            option = {f"{'size' if 'size' in key.lower() else 'colour'}__iexact": str(value)}
            variants = ProductVariant.objects.filter(product=OuterRef("pk"), is_active=True, **option)
            cond |= Exists(variants)
            in_stock_here = Q(Exists(variants.filter(stock__gt=0))) | Q(
                ~Q(Exists(ProductVariant.objects.filter(product=OuterRef("pk"), is_active=True))), stock__gt=0)
            qs = qs.annotate(**{f"has_{len(first)}": ExpressionWrapper(in_stock_here, output_field=BooleanField())})
            first.append(f"-has_{len(first)}")
        qs = qs.filter(cond)
    if min_price is not None or max_price is not None:
        best = (Promotion.objects.filter(product=OuterRef("pk"), starts_on__lte=today, ends_on__gte=today)
                .order_by("-discount_percent").values("discount_percent")[:1])
        qs = qs.annotate(discount=Coalesce(Subquery(best), Value(0))).annotate(
            price_today=ExpressionWrapper(F("price") * (Value(100) - F("discount")) / Value(100),
                                          output_field=DecimalField(max_digits=12, decimal_places=4)))
        if min_price is not None:
            qs = qs.filter(price_today__gte=min_price)
        if max_price is not None:
            qs = qs.filter(price_today__lte=max_price)
    if in_stock is not None:
        qs = qs.filter(stock__gt=0) if in_stock else qs.filter(stock=0)
    if words.strip():
        qs = search_products(words, qs)
        order = ["-rank"]
    else:
        order = []
    qs = qs.annotate(has_stock=ExpressionWrapper(Q(stock__gt=0), output_field=BooleanField())).order_by(
        *order, *first, "-has_stock", "-popularity", "name", "pk")
    total = qs.count()
    return product_facts(qs.values_list("pk", flat=True)[:limit]), total


# -- orders ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderFacts:
    number: str
    status: str  # pending, paid, shipped, delivered, cancelled, refunded
    status_display: str
    created_at: datetime
    updated_at: datetime
    total: Decimal
    currency: str
    url: str
    lines: tuple  # ((name, quantity), ...)
    can_cancel: bool  # customers may cancel pending orders only (as on the order page)


def orders_in_session(session) -> list[str]:
    return list(session.get(ORDERS_IN_SESSION, [])) if session is not None else []


def _order_facts(order: Order) -> OrderFacts:
    return OrderFacts(order.number, order.status, order.get_status_display(), order.created_at, order.updated_at,
                      order.total, order.currency, order.get_absolute_url(),
                      tuple((line.name, line.quantity) for line in order.lines.all()),
                      order.status == Order.Status.PENDING)


def _own_qs(user, session_numbers) -> Q | None:
    cond = Q(pk__in=[])
    if user is not None and getattr(user, "is_authenticated", False):
        cond |= Q(user=user)
    numbers = [n for n in session_numbers or () if n]
    if numbers:
        cond |= Q(number__in=numbers)
    return cond


def own_order(number: str, user=None, session_numbers=()) -> OrderFacts | None:
    """The caller's order with that number (their account's, or placed in this browser session), else None."""
    number = (number or "").strip().upper()
    if not number:
        return None
    order = (Order.objects.filter(_own_qs(user, session_numbers)).filter(number__iexact=number)
             .prefetch_related("lines").first())
    return _order_facts(order) if order else None


def own_orders(user=None, session_numbers=(), limit: int = 3) -> list[OrderFacts]:
    orders = Order.objects.filter(_own_qs(user, session_numbers)).prefetch_related("lines")[:limit]
    return [_order_facts(o) for o in orders]


def cancel_own_order(number: str, user=None, session_numbers=(), note: str = "cancelled by customer (chat)"
                     ) -> OrderFacts:
    """Cancel the caller's pending order through the order state machine (stock goes back). The row is locked
    first, so an order paid or shipped meanwhile is not cancelled."""
    number = (number or "").strip().upper()
    by = user if user is not None and getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        order = (Order.objects.select_for_update().filter(_own_qs(user, session_numbers))
                 .filter(number__iexact=number).first())
        if order is None:
            raise OrderNotFound(number)
        if order.status != Order.Status.PENDING:
            raise CannotCancel(f"Order {order.number} is {order.get_status_display().lower()}; it cannot be "
                               "cancelled any more.")
        order_flow.transition(order, Order.Status.CANCELLED, by=by, note=note)
    return own_order(order.number, user, session_numbers)


# -- policies --------------------------------------------------------------------------------------------------
def _shipping_options() -> tuple[str, Decimal | None, Decimal | None]:
    """The configured delivery methods in words ("Free delivery on orders of 50.00 EUR or more; Standard delivery
    4.90 EUR"), the flat rate and the free-delivery threshold, read from shop.shipping (what checkout offers)."""
    parts, flat, free = [], None, None
    for m in shipping.methods():
        if isinstance(m, shipping.FlatRate):
            flat = Decimal(str(m.rate))
            parts.insert(0, f"{m.label} {pricing.format_money(flat)}")  # the price everyone can have, first
        elif isinstance(m, shipping.FreeOverThreshold):
            free = Decimal(str(m.threshold))
            parts.append(f"{m.label} {m.note()}".strip())
        else:
            parts.append(f"{m.label} ({m.note()})" if m.note() else m.label)
    return "; ".join(parts), flat, free


def shop_facts() -> dict:
    """What the shop does, from its settings and its shipping methods: the FAQ answers fill their {placeholders}
    from this."""
    countries = [name for _, name in shipping.ship_to_countries()]
    currency = settings.SHOP_CURRENCY
    options, flat, free = _shipping_options()
    if flat is None:
        flat = Decimal(str(settings.SHOP_SHIPPING_FLAT_RATE))
    return {
        "shop_name": settings.SHOP_NAME,
        "currency": currency,
        "shipping_flat_rate": f"{flat:.2f} {currency}",
        "free_shipping_over": f"{free:.2f} {currency}" if free is not None else "",
        "shipping_options": options,
        "prices_include_vat": bool(settings.SHOP_PRICES_INCLUDE_VAT),
        "vat_rate": f"{Decimal(str(settings.SHOP_VAT_RATE)):g}",
        "return_days": int(settings.SHOP_RETURN_DAYS),
        "contact_email": settings.SHOP_CONTACT_EMAIL or settings.DEFAULT_FROM_EMAIL,
        "ship_to_countries": ", ".join(countries),
        "payment_methods": ", ".join(label for _, label in payments.choices()),
        "max_line_quantity": settings.SHOP_MAX_LINE_QUANTITY,
    }


@dataclass(frozen=True)
class ShopPage:
    url: str  # a path on this site, "/pages/returns/"
    title: str
    text: str  # the content as plain text, paragraphs separated by blank lines
    intro: str  # its first paragraph


def _plain(html: str) -> list[str]:
    """Paragraphs of an HTML fragment as plain text."""
    from django.utils.html import strip_tags

    blocks = re.split(r"(?i)</p\s*>|<br\s*/?>|</h\d\s*>|</li\s*>|\n\s*\n", html or "")
    out = []
    for block in blocks:
        text = re.sub(r"\s+", " ", unescape(strip_tags(block))).strip()
        if text:
            out.append(text)
    return out


def shop_pages() -> dict[str, ShopPage]:
    """The shop's public information pages (flatpages of this site under /pages/: shipping, returns, contact,
    privacy, terms, or whatever managers made), by URL. Pages that need a login are left out."""
    from django.contrib.flatpages.models import FlatPage

    out = {}
    for url, title, content in (FlatPage.objects.filter(sites=settings.SITE_ID, url__startswith="/pages/",
                                                        registration_required=False)
                                .order_by("url").values_list("url", "title", "content")):
        paragraphs = _plain(content)
        out[url] = ShopPage(url, title, "\n\n".join(paragraphs), paragraphs[0] if paragraphs else "")
    return out


def shop_page(url: str) -> ShopPage | None:
    return shop_pages().get((url or "").strip()) if url else None
