"""The storefront's read side: which products a slot shows, from the live publication only. Runs in the web
process: reads rows, never imports the engine or torch.

    shown = for_home(request)                       # Shown(products, ref)
    shown = for_product(request, product)
    shown = for_cart(request, cart_product_ids)

A slot costs **one query** once its lists are cached: the candidates' availability and card data (name, price,
photo, today's promotion) and the most popular products to fill up with, in one statement. Availability is
never cached: a product that is inactive or out of stock *now* (stock changes after publishing) is dropped and the
slot is filled with popular products.

The published lists themselves are cached in the process (an LRU per list): a publication never changes once
live, so a list is keyed by the publication's id. Which publication is live is looked up at most every
``RECOMMENDER_READ_CACHE_SECONDS`` (default 10) per process, so a new publication shows within that time (the
one it replaces keeps its rows until the next swap, so a reader in between still finds them). A cold list costs
one more query.

A visitor's home list is built from the products viewed or carted in this session: each product's published list
votes ``(N + 1 - rank)`` for its products, weighted ``SESSION_DECAY ** position`` (the newest counts most); the
session's own products are not shown back. Visitors in the control arm see popular products only.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from shop import events, versions
from shop.models import Product, ProductImage, Promotion

from .experiment import CONTROL, Ref, arm
from .models import CustomerRecommendation, ProductRecommendation, Publication

CENT = Decimal("0.01")
SESSION_SOURCES = 10      # the newest products of a session that build a visitor's list
SESSION_DECAY = 0.7       # weight of each older product of the session relative to the next newer one
CACHED_LISTS = 50_000     # published lists kept per process (customers and products together)


@dataclass
class Shown:
    products: list = field(default_factory=list)
    ref: Ref | None = None
    basis: str = ""  # for product slots: "bought" or "content" when the list is related products


def slot_size() -> int:
    return max(1, settings.RECOMMENDER_SLOT_SIZE)


def top_n() -> int:
    return max(1, settings.RECOMMENDER_TOP_N)


# ----------------------------------------------------------------------------------------------- the cache
class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.live: tuple[int, int] | None = None  # (publication id, version id)
            self.checked = float("-inf")
            self.lists: OrderedDict = OrderedDict()

    def live_publication(self) -> tuple[int, int] | None:
        now = time.monotonic()
        if now - self.checked >= settings.RECOMMENDER_READ_CACHE_SECONDS:
            row = Publication.objects.filter(status=Publication.Status.LIVE).values_list("pk", "version_id").first()
            with self.lock:
                if row != self.live:
                    self.lists.clear()
                self.live, self.checked = row, now
        return self.live

    def get(self, key, load):
        with self.lock:
            if key in self.lists:
                self.lists.move_to_end(key)
                return self.lists[key]
        value = load()
        with self.lock:
            self.lists[key] = value
            while len(self.lists) > CACHED_LISTS:
                self.lists.popitem(last=False)
        return value


_cache = _Cache()


def clear_cache() -> None:
    """Forget the cached lists and the live publication (tests; a publish in this process does it too)."""
    _cache.clear()


def live_key() -> tuple[int, int] | None:
    """The live publication as (id, model version id), looked up at most every RECOMMENDER_READ_CACHE_SECONDS:
    part of the key of a kept slot (recommender.slots)."""
    return _cache.live_publication()


# ----------------------------------------------------------------------------------------------- candidates
def customer_candidates(user_id: int) -> tuple[list[int], int]:
    """The customer's published products in rank order, and the model version that published them."""
    live = _cache.live_publication()
    if live is None:
        return [], 0
    ids = _cache.get(("customer", live[0], user_id), lambda: next(iter(
        CustomerRecommendation.objects.filter(publication_id=live[0], user_id=user_id)
        .values_list("products", flat=True)), []))
    return ids, (live[1] if ids else 0)


def _related(pub_id: int, product_id: int) -> tuple[list[int], str]:
    def load():
        row = ProductRecommendation.objects.filter(publication_id=pub_id, source_id=product_id) \
            .values_list("products", "basis").first()
        return (list(row[0]), row[1]) if row else ([], "")

    return _cache.get(("product", pub_id, product_id), load)


def related_candidates(product_id: int) -> tuple[list[int], int, str]:
    """A product's published "customers also bought" (or content neighbours), in rank order."""
    live = _cache.live_publication()
    if live is None:
        return [], 0, ""
    ids, basis = _related(live[0], product_id)
    return ids, (live[1] if ids else 0), basis


def neighbours_of(sources: list[int], exclude=()) -> tuple[list[int], int]:
    """Products related to several products at once (a session's views and carts, a cart's lines), by weighted
    votes of their published lists (see the module's docstring)."""
    live = _cache.live_publication()
    sources = list(dict.fromkeys(sources))[:SESSION_SOURCES]
    if live is None or not sources:
        return [], 0
    exclude = set(exclude)
    votes: dict[int, float] = {}
    n = top_n()
    for k, source in enumerate(sources):
        ids, _ = _related(live[0], source)
        for rank, pid in enumerate(ids, 1):
            if pid not in exclude:
                votes[pid] = votes.get(pid, 0.0) + SESSION_DECAY ** k * (n + 1 - rank)
    ranked = sorted(votes, key=lambda pid: (-votes[pid], pid))[:n]
    return ranked, (live[1] if ranked else 0)


# ----------------------------------------------------------------------------------------------- products
@lru_cache(maxsize=256)
def _card_sql(n_candidates: int, n_exclude: int, n_later: int, vendor: str) -> str:
    """One statement for a slot's cards (its text depends only on the number of candidates, exclusions and products
    put last, so it is built once per shape): the available candidates and the most popular available products not excluded
    (LIMIT n), with their first photo and today's best promotion. Names come from the models' metadata."""
    q = connection.ops.quote_name
    P, I, R = (q(m._meta.db_table) for m in (Product, ProductImage, Promotion))
    active = f"{{t}}.{q('is_active')} AND {{t}}.{q('stock')} > 0"
    photo = (f"SELECT {{col}} FROM {I} i WHERE i.{q('product_id')} = p.{q('id')} "
             f"ORDER BY i.{q('position')}, i.{q('id')} LIMIT 1")
    in_candidates = f"c.{q('id')} IN ({', '.join(['%s'] * n_candidates)})" if n_candidates else "1 = 0"
    not_excluded = f"AND u.{q('id')} NOT IN ({', '.join(['%s'] * n_exclude)})" if n_exclude else ""
    later = (f"CASE WHEN u.{q('id')} IN ({', '.join(['%s'] * n_later)}) THEN 1 ELSE 0 END, " if n_later else "")
    return (
        f"SELECT p.{q('id')}, p.{q('name')}, p.{q('slug')}, p.{q('price')}, p.{q('popularity')}, "
        f"({photo.format(col=q('image'))}), ({photo.format(col=q('thumbnail'))}), ({photo.format(col=q('alt'))}), "
        f"(SELECT MAX(r.{q('discount_percent')}) FROM {R} r WHERE r.{q('product_id')} = p.{q('id')} "
        f"AND r.{q('starts_on')} <= %s AND r.{q('ends_on')} >= %s) "
        # the ids first (the candidates, then the popular fill through its index), the rows by primary key: an
        # OR of the two read every product of the catalog
        f"FROM {P} p WHERE {active.format(t='p')} AND p.{q('id')} IN ("
        f"SELECT c.{q('id')} FROM {P} c WHERE {in_candidates} UNION ALL "
        f"SELECT top.{q('id')} FROM (SELECT u.{q('id')} FROM {P} u WHERE {active.format(t='u')} {not_excluded} "
        f"ORDER BY {later}u.{q('popularity')} DESC, u.{q('name')}, u.{q('id')} LIMIT %s) top)")


def available_products(candidates: list[int], n: int, exclude=(), later=()) -> list:
    """Up to ``n`` products: the available candidates in their order, then the most popular available products
    (those in ``later`` only after all others: products the page lists already, shown again only in a catalog too
    small for anything else).
    One statement whatever ``n`` (availability, card data: first photo and today's best promotion, and the fill),
    in SQL written once per shape: a slot is on every storefront page, and the ORM's compilation of the same
    query cost more than the database did."""
    exclude = list(dict.fromkeys(exclude))
    excluded = set(exclude)
    candidates = [c for c in dict.fromkeys(candidates) if c not in excluded][: max(n * 3, n + 10)]
    later = [pk for pk in dict.fromkeys(later) if pk not in excluded]
    pushed = set(later)
    today = versions.today()
    with connection.cursor() as cur:
        cur.execute(_card_sql(len(candidates), len(exclude), len(later), connection.vendor),
                    [today, today, *candidates, *exclude, *later, n])
        rows = cur.fetchall()
    order = {pk: k for k, pk in enumerate(candidates)}
    rows.sort(key=lambda r: (0, order[r[0]], "", 0) if r[0] in order else (1, r[0] in pushed, -r[4], r[1], r[0]))
    out = []
    for pk, name, slug, price, popularity, image, thumb, alt, discount in rows:
        if pk in excluded:
            continue
        # as read, not saved; SQLite hands decimals back as floats: through str, 11.99 stays 11.99
        p = Product(pk=pk, name=name, slug=slug, price=Decimal(str(price)).quantize(CENT), popularity=popularity)
        # what shop.pricing reads (instead of the for_listing prefetch), and the card's photo
        p.active_promotions = [SimpleNamespace(discount_percent=discount)] if discount else []
        p.card_image = default_storage.url(thumb or image) if (thumb or image) else ""
        p.photo_alt = alt or ""
        out.append(p)
        if len(out) == n:
            break
    return out


def _popular(slot: str, arm_: str, n: int, exclude=(), later=()) -> Shown:
    return Shown(available_products([], n, exclude, later), Ref(slot, arm_, 0, "popular"))


# ----------------------------------------------------------------------------------------------- the slots
def for_home(request, on_page=()) -> Shown:
    """Signed in: the customer's rows; otherwise (or without rows) built from this session's viewed and carted
    products; otherwise popular. Popular products the page lists already (``on_page``: its "Popular right now")
    come last, so a first visit does not see the same row twice (both arms alike)."""
    n, a = slot_size(), arm(events.visitor_id(request))
    recent = events.recent_products(request)
    if a == CONTROL:
        return _popular("home", a, n, later=on_page)
    ids, version, basis = [], 0, "popular"
    if request.user.is_authenticated:
        ids, version = customer_candidates(request.user.pk)
        basis = "personal"
    if not ids and recent:
        ids, version = neighbours_of(recent, exclude=recent)
        basis = "session"
    if not ids:
        return _popular("home", a, n, later=on_page)
    exclude = recent if basis == "session" else ()
    return Shown(available_products(ids, n, exclude, later=on_page), Ref("home", a, version, basis))


def for_product(request, product) -> Shown:
    n, a = slot_size(), arm(events.visitor_id(request))
    if a == CONTROL:
        return _popular("product", a, n, exclude=[product.pk])
    ids, version, basis = related_candidates(product.pk)
    if not ids:
        return _popular("product", a, n, exclude=[product.pk])
    return Shown(available_products(ids, n, exclude=[product.pk]), Ref("product", a, version, "related"), basis)


def for_cart(request, cart_product_ids: list[int]) -> Shown:
    n, a = slot_size(), arm(events.visitor_id(request))
    if a == CONTROL or not cart_product_ids:
        return _popular("cart", a, n, exclude=cart_product_ids)
    ids, version = neighbours_of(cart_product_ids, exclude=cart_product_ids)
    if not ids:
        return _popular("cart", a, n, exclude=cart_product_ids)
    return Shown(available_products(ids, n, exclude=cart_product_ids), Ref("cart", a, version, "related"))
