"""Browsing the catalog: the category tree, list sorting, and category filters with counts per value.

Filters come from the query string, so a filtered page is a URL a shopper can share:

    /c/apparel/?colour=blue&colour=black&size=M&min=10&max=40&stock=1&sort=price&page=2

Values of one filter are alternatives (blue OR black), different filters all apply. Counts next to each value
say how many products the page would show with that value added, given the other filters (the usual faceted
search), so a count never promises an empty page. Prices are today's prices, promotions included.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from decimal import Decimal, InvalidOperation

from django.db.models import (Case, CharField, Count, DecimalField, Exists, ExpressionWrapper, F, IntegerField, Max,
                              Min, OuterRef, Q, QuerySet, Subquery, Value, When)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from .models import Category, Product, ProductVariant, Promotion

SORTS = {
    "popular": ("Most popular", ("-in_stock_rank", "-popularity", "name")),
    "newest": ("Newest", ("-in_stock_rank", "-created_at", "name")),
    "price": ("Price: low to high", ("-in_stock_rank", "price_now", "name")),
    "-price": ("Price: high to low", ("-in_stock_rank", "-price_now", "name")),
    "name": ("Name", ("name",)),
}
DEFAULT_SORT = "popular"
MAX_VALUES = 20  # values of one filter a URL may select


# ------------------------------------------------------------------------------------------------- the tree
class CategoryTree:
    """All categories, read in one query: navigation, breadcrumbs and "this category and everything below"."""

    def __init__(self, categories=None):
        cats = list(Category.objects.all()) if categories is None else list(categories)
        self.by_id = {c.pk: c for c in cats}
        self.by_slug = {c.slug: c for c in cats}
        self.children: dict[int | None, list[Category]] = {}
        for c in cats:  # already ordered by position, name
            self.children.setdefault(c.parent_id, []).append(c)

    @property
    def top(self) -> list[Category]:
        return self.children.get(None, [])

    def path(self, category: Category) -> list[Category]:
        """From the top-level category down to `category` (guarded against cycles)."""
        out, seen, node = [], set(), self.by_id.get(category.pk, category)
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            out.append(node)
            node = self.by_id.get(node.parent_id)
        return out[::-1]

    def descendant_ids(self, category: Category) -> list[int]:
        out, stack = [], [category.pk]
        while stack:
            pk = stack.pop()
            if pk in out:
                continue
            out.append(pk)
            stack.extend(c.pk for c in self.children.get(pk, []))
        return out


def tree_for(request) -> CategoryTree:
    """The request's category tree, read once however many parts of the page need it."""
    tree = getattr(request, "_shop_category_tree", None)
    if tree is None:
        tree = request._shop_category_tree = CategoryTree()
    return tree


# -------------------------------------------------------------------------------------------- list querysets
def with_listing_annotations(qs: QuerySet, day=None) -> QuerySet:
    """Add `price_now` (list price less today's best promotion) and `in_stock_rank` (1 in stock, 0 not), so lists
    can sort and filter by what a shopper pays and sink sold-out products."""
    day = day or timezone.localdate()
    best = (Promotion.objects.filter(product=OuterRef("pk"), starts_on__lte=day, ends_on__gte=day)
            .order_by().values("product").annotate(m=Max("discount_percent")).values("m"))
    money = DecimalField(max_digits=12, decimal_places=2)
    return qs.annotate(
        discount_now=Coalesce(Subquery(best, output_field=IntegerField()), Value(0)),
        price_now=ExpressionWrapper(F("price") * (Value(100) - F("discount_now")) / Value(100), output_field=money),
        in_stock_rank=Case(When(stock__gt=0, then=Value(1)), default=Value(0), output_field=IntegerField()),
    )


def sorted_listing(qs: QuerySet, sort: str) -> QuerySet:
    return qs.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT])[1], "pk")


def in_stock_first(qs: QuerySet, *order) -> QuerySet:
    """`qs` ordered by `order`, sold-out products last (home page lists)."""
    return qs.annotate(in_stock_rank=Case(When(stock__gt=0, then=Value(1)), default=Value(0),
                                          output_field=IntegerField())).order_by("-in_stock_rank", *order, "pk")


# ------------------------------------------------------------------------------------------------- filters
def _decimal(value: str | None) -> Decimal | None:
    try:
        d = Decimal((value or "").strip().replace(",", "."))
    except InvalidOperation:
        return None
    return d if d.is_finite() and d >= 0 else None


@dataclass
class Filters:
    colours: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False

    @classmethod
    def from_query(cls, params) -> "Filters":
        """Read filters from request.GET; values that make no sense are ignored, never an error page."""
        def values(name):
            return sorted({v.strip()[:40] for v in params.getlist(name) if v.strip()})[:MAX_VALUES]

        lo, hi = _decimal(params.get("min")), _decimal(params.get("max"))
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        return cls(colours=values("colour"), sizes=values("size"), min_price=lo, max_price=hi,
                   in_stock=params.get("stock") in {"1", "true", "on"})

    @property
    def active(self) -> bool:
        return bool(self.colours or self.sizes or self.min_price is not None or self.max_price is not None
                    or self.in_stock)

    def apply(self, qs: QuerySet, skip: str = "") -> QuerySet:
        """Filter an annotated listing (with_listing_annotations); `skip` leaves one filter out (for its counts)."""
        if self.colours and skip != "colour":
            qs = qs.filter(_colour_q(self.colours))
        if self.sizes and skip != "size":
            qs = qs.filter(_size_q(self.sizes, in_stock=self.in_stock and skip != "stock"))
        if self.min_price is not None and skip != "price":
            qs = qs.filter(price_now__gte=self.min_price)
        if self.max_price is not None and skip != "price":
            qs = qs.filter(price_now__lte=self.max_price)
        if self.in_stock and skip != "stock":
            qs = qs.filter(stock__gt=0)
        return qs


def _colour_q(colours: list[str]) -> Q:
    return Q(attributes__colour__in=colours)


def _size_q(sizes: list[str], in_stock: bool = False) -> Q:
    """Products sold in one of these sizes: an active variant of that size (in stock, with the in-stock filter),
    or, for a product without variants, an entry of its comma-separated "sizes" attribute ("XS,S,M")."""
    variants = ProductVariant.objects.filter(product=OuterRef("pk"), is_active=True, size__in=sizes)
    if in_stock:
        variants = variants.filter(stock__gt=0)
    listed = Product.objects.annotate(
        _sizes=Concat(Value(","), KT("attributes__sizes"), Value(","), output_field=CharField())
    ).filter(reduce(or_, (Q(_sizes__contains=f",{s},") for s in sizes))).values("pk")
    has_variants = ProductVariant.objects.filter(product=OuterRef("pk"), is_active=True)
    return Q(Exists(variants)) | (Q(pk__in=listed) & ~Q(Exists(has_variants)))


@dataclass
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass
class Facets:
    colours: list[FacetValue]
    sizes: list[FacetValue]
    in_stock: int
    price_min: Decimal | None
    price_max: Decimal | None


SIZE_ORDER = ["XXS", "XS", "S", "S/M", "M", "M/L", "L", "L/XL", "XL", "XXL", "XXXL"]


def _size_key(value: str):
    return (SIZE_ORDER.index(value), "") if value in SIZE_ORDER else (len(SIZE_ORDER), value)


def facets(base: QuerySet, filters: Filters) -> Facets:
    """Counts per filter value for the products of `base` (annotated, unfiltered): four aggregate queries,
    whatever the number of products."""
    colour_rows = (filters.apply(base, skip="colour").order_by().annotate(v=KT("attributes__colour"))
                   .exclude(v=None).values("v").annotate(n=Count("pk")).values_list("v", "n"))
    colours = [FacetValue(v, n, v in filters.colours) for v, n in sorted(colour_rows) if v]
    sized = filters.apply(base, skip="size").order_by()
    variants = ProductVariant.objects.filter(is_active=True, product__in=sized.values("pk")).exclude(size="")
    if filters.in_stock:
        variants = variants.filter(stock__gt=0)
    pairs = set(variants.values_list("product_id", "size"))
    with_variants = set(ProductVariant.objects.filter(is_active=True, product__in=sized.values("pk"))
                        .values_list("product_id", flat=True).distinct())
    for pk, sizes in sized.exclude(attributes__sizes=None).values_list("pk", "attributes__sizes"):
        if pk not in with_variants:
            pairs.update((pk, x.strip()) for x in str(sizes).split(",") if x.strip())
    size_counts: dict[str, int] = {}
    for _, size in pairs:
        size_counts[size] = size_counts.get(size, 0) + 1
    sizes = [FacetValue(v, size_counts[v], v in filters.sizes) for v in sorted(size_counts, key=_size_key)]
    stock_and_prices = filters.apply(base, skip="stock").order_by().aggregate(
        in_stock=Count("pk", filter=Q(stock__gt=0)))
    bounds = filters.apply(base, skip="price").order_by().aggregate(lo=Min("price_now"), hi=Max("price_now"))
    return Facets(colours=colours, sizes=sizes, in_stock=stock_and_prices["in_stock"], price_min=bounds["lo"],
                  price_max=bounds["hi"])


def listing(category_ids: list[int], filters: Filters, sort: str) -> tuple[QuerySet, Facets]:
    """The products of these categories with the filters applied and sorted, and the facet counts."""
    base = with_listing_annotations(Product.objects.for_listing().filter(category_id__in=category_ids))
    return sorted_listing(filters.apply(base), sort), facets(base, filters)
