"""Product search: PostgreSQL full-text search ranked by SearchRank, a plain fallback elsewhere."""
from __future__ import annotations

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from .models import Product

SEARCH_CONFIG = "english"


def search_vector():
    from django.contrib.postgres.search import SearchVector

    return (SearchVector("name", weight="A", config=SEARCH_CONFIG)
            + SearchVector("sku", weight="A", config="simple")
            + SearchVector("description", weight="B", config=SEARCH_CONFIG))


def search_products(query: str, base: QuerySet | None = None) -> QuerySet:
    base = Product.objects.for_listing() if base is None else base
    query = (query or "").strip()[:200]
    if not query:
        return base.none()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        q = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        return (base.annotate(rank=SearchRank(search_vector(), q))
                .filter(Q(rank__gt=0) | Q(sku__iexact=query)).order_by("-rank", "name", "pk"))
    words = query.split()
    cond = Q()
    for w in words:
        cond &= Q(name__icontains=w) | Q(description__icontains=w) | Q(sku__iexact=w)
    return (base.filter(cond)
            .annotate(rank=Case(When(name__icontains=query, then=Value(2)), default=Value(1),
                                output_field=IntegerField()))
            .order_by("-rank", "name", "pk"))
