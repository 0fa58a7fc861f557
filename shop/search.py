"""Product search: ranked full-text search on both databases, and "did you mean" for typos.

What is searched: the name and SKU (weighted highest), the names of the product's category and its parent, the
attribute values (colour, material, sizes...) and the description (lowest). Words are stemmed, so "mugs" finds
"Mug" and "t-shirt" finds the "T-Shirts" category.

- PostgreSQL: websearch syntax (quotes, -word, or) against the stored, GIN-indexed `search_vector` that a trigger
  keeps in step (migrations 0002 and 0003), ranked by SearchRank; an exact SKU also matches.
- SQLite: the FTS5 table `shop_product_fts` (Porter stemmer) that triggers keep in step (migration 0003), ranked
  by BM25 with the same weights; every word must match, a hyphenated word must match as a phrase.

Typos: when nothing matches, `suggest` replaces each word the catalog does not know by the closest word it does
know (names, categories, attribute values; rapidfuzz similarity), and the search page shows the results for the
corrected query with a note. One mechanism on both databases; pg_trgm was considered (trigram similarity finds
"lmap" in "Lamp" on PostgreSQL only) but a corrected query keeps the ranked full-text search, tells the shopper
what was searched, and behaves the same on the SQLite demo.
"""
from __future__ import annotations

import re

from django.core.cache import cache
from django.db import connection
from django.db.models import F, FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL
from rapidfuzz import fuzz, process

from .models import Category, Product

SEARCH_CONFIG = "english"
MAX_QUERY = 200
_WORD = re.compile(r"\w+(?:[-']\w+)*", re.UNICODE)
VOCABULARY_KEY = "shop:search:vocabulary"
VOCABULARY_SECONDS = 600


def words(query: str) -> list[str]:
    return _WORD.findall((query or "").lower())[:20]


def search_products(query: str, base: QuerySet | None = None) -> QuerySet:
    """Products matching `query`, best first (annotated `rank`, higher is better)."""
    base = Product.objects.for_listing() if base is None else base
    query = (query or "").strip()[:MAX_QUERY]
    if not words(query):
        return base.none()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        q = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        return (base.filter(Q(search_vector=q) | Q(sku__iexact=query))
                .annotate(rank=SearchRank(F("search_vector"), q)).order_by("-rank", "name", "pk"))
    if connection.vendor == "sqlite":
        match = _fts5_query(query)
        hits = "SELECT rowid FROM shop_product_fts WHERE shop_product_fts MATCH %s"
        rank = ("SELECT -rank FROM shop_product_fts WHERE shop_product_fts MATCH %s "
                "AND rowid = shop_product.id")
        return (base.filter(Q(pk__in=RawSQL(hits, [match])) | Q(sku__iexact=query))
                .annotate(rank=RawSQL(f"coalesce(({rank}), 0)", [match], output_field=FloatField()))
                .order_by("-rank", "name", "pk"))
    cond = Q()  # other databases: every word somewhere in the name or description
    for w in words(query):
        cond &= Q(name__icontains=w) | Q(description__icontains=w) | Q(category__name__icontains=w)
    return base.filter(cond | Q(sku__iexact=query)).order_by("name", "pk")


def _fts5_query(query: str) -> str:
    """User text -> an FTS5 expression that cannot be a syntax error: every word a quoted string (a hyphenated
    word a quoted phrase, "t-shirt" -> "t shirt"), all required."""
    parts = []
    for w in words(query):
        tokens = [t for t in re.split(r"[-']", w) if t]
        parts.append('"' + " ".join(tokens).replace('"', "") + '"')
    return " AND ".join(parts)


# ------------------------------------------------------------------------------------------- did you mean
def vocabulary() -> frozenset[str]:
    """The words shoppers can find things by: active products' names and attribute values, category names."""
    vocab = cache.get(VOCABULARY_KEY)
    if vocab is None:
        found: set[str] = set()
        for name, attributes in Product.objects.active().values_list("name", "attributes").iterator(2000):
            found.update(words(name))
            if isinstance(attributes, dict):
                for value in attributes.values():
                    found.update(words(str(value)))
        for name in Category.objects.values_list("name", flat=True):
            found.update(words(name))
        vocab = frozenset(w for w in found if len(w) >= 3 and not w.isdigit())
        cache.set(VOCABULARY_KEY, vocab, VOCABULARY_SECONDS)
    return vocab


def _singular(word: str) -> str:
    for end, repl in (("ies", "y"), ("ses", "s"), ("s", "")):
        if word.endswith(end) and len(word) > len(end) + 2:
            return word[: -len(end)] + repl
    return word


def suggest(query: str, min_score: float = 75.0) -> str | None:
    """The query with unknown words replaced by the closest catalog words, or None when nothing changes."""
    vocab = vocabulary()
    if not vocab:
        return None
    out, changed = [], False
    choices = sorted(vocab)
    for w in words(query):
        if w in vocab or _singular(w) in vocab or len(w) < 3 or w.isdigit():
            out.append(w)
            continue
        best = process.extractOne(w, choices, scorer=fuzz.ratio, score_cutoff=min_score)
        if best is None:
            out.append(w)
        else:
            out.append(best[0])
            changed = True
    return " ".join(out) if changed else None
