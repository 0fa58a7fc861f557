"""Change counters that cached pages and fragments are keyed on, so a cache never shows what is no longer true.

Keys (``CacheVersion`` rows):

- ``site``: the category tree, the shop's information pages (footer links), catalog imports: every page.
- ``lists``: anything a product list or a recommendation slot shows of any product: name, price, photo, running
  promotions, whether it is sold at all and whether it is in stock (not how many), popularity (the sort).
- ``p<id>``: everything the page of product ``<id>`` shows, its stock count and its sizes' included.

A page cached with the values it was rendered under is served only while they are unchanged (shop.pagecache).
Today's date is part of every key too: promotions start and end with the day, without a write.

Who bumps: model signals (any ``save()`` or ``delete()`` of a product, variant, photo, promotion, category or shop
page: the admin, the imports, the API), ``shop.stock`` (every stock change; ``lists`` only when a product or size
runs out or comes back, the only stock fact a list shows), ``refresh_popularity``, ``seed_demo`` and
``load_sales`` (bulk writes that send no signals). New code that writes these tables with ``update()``,
``bulk_create()`` or SQL calls ``changed()`` itself.

Order matters and is kept: `changed()` makes this process see a new value at once, and the row is bumped after the
transaction commits (with `transaction.on_commit`), so a process that sees the new value reads the committed data;
a page rendered meanwhile is cached under the old value and dropped as soon as the new one is seen. Other processes
read the rows that changed at most every ``SHOP_CACHE_FRESHNESS_SECONDS`` (default 1; 0 = on every request): a
change shows in every web process within that time. Values come from a sequence on PostgreSQL (unique however
bumps interleave); a look reads again the last ``LOOKBACK`` values, so a bump that committed after a later one is
not missed.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

log = logging.getLogger(__name__)

SITE = "site"
LISTS = "lists"
LOOKBACK = 1000

_lock = threading.Lock()
_db: dict[str, int] = {}           # values read from (or written to) the database
_over: dict[str, int] = {}         # this process's bumps not yet committed (-1, -2, ...): they win over _db
_values: dict[str, int] = {}       # _db with _over on top; replaced, never changed in place (a reader's snapshot)
_newest: int | None = None         # the newest value read from the database; None: nothing read yet
_checked = float("-inf")
_local = itertools.count(1)        # this process's own bumps before they are committed: -1, -2, ...
_pending = threading.local()       # keys changed in this thread's open transaction, published at its commit


_day: tuple = (None, None, None)  # (local date, from, until): aware datetimes


def today() -> date:
    """``timezone.localdate()``, with the time-zone arithmetic done again only when the local day ends (every kept
    page and slot is keyed on the day; the conversion was a visible part of serving a kept page)."""
    global _day
    day, start, until = _day
    now = timezone.now()
    if start is None or not start <= now < until:  # a new day, or the clock was set back
        local = timezone.localtime(now)
        day = local.date()
        midnight = datetime.combine(day + timedelta(days=1), dtime(0), tzinfo=local.tzinfo)
        _day = (day, now, min(midnight, now + timedelta(hours=1)))  # at least hourly: a changed TIME_ZONE shows
    return day


def product_key(product_id: int) -> str:
    return f"p{product_id}"


def current() -> dict[str, int]:
    """The values as this process knows them (read from the database at most every SHOP_CACHE_FRESHNESS_SECONDS).
    Take it before reading the data a cached thing is made of. A key never bumped is 0."""
    if time.monotonic() - _checked >= settings.SHOP_CACHE_FRESHNESS_SECONDS:
        _refresh()
    return _values


def _refresh() -> None:
    global _db, _newest, _checked
    q = connection.ops.quote_name
    sql = f"SELECT {q('key')}, {q('value')} FROM {q('shop_cacheversion')}"
    try:
        with connection.cursor() as cur:
            if _newest is None:
                cur.execute(sql)
            else:
                cur.execute(f"{sql} WHERE {q('value')} > %s", [_newest - LOOKBACK])
            rows = cur.fetchall()
    except (DatabaseError, TransactionManagementError) as exc:
        # e.g. a query inside a broken transaction: nothing cached may be trusted until the next look
        log.warning("could not read the cache versions: %s", exc)
        with _lock:
            _db = {**_db, "__unknown__": -next(_local)}
            _merge()
            _checked = time.monotonic()
        return
    with _lock:
        if "__unknown__" in _db or any(_db.get(k) != v for k, v in rows):
            _db = {**{k: v for k, v in _db.items() if k != "__unknown__"}, **dict(rows)}
            _merge()
        if rows:
            _newest = max([_newest or 0, *(v for _, v in rows)])
        elif _newest is None:
            _newest = 0
        _checked = time.monotonic()


def _merge() -> None:
    """Called with the lock held."""
    global _values
    _values = {**_db, **_over} if _over else _db


def changed(*keys: str) -> None:
    """These keys' things changed (or are about to, in the open transaction): bump them."""
    keys = tuple(dict.fromkeys(k for k in keys if k))
    if not keys:
        return
    global _over
    with _lock:  # this process: at once (its own transaction sees the change)
        _over = {**_over, **{k: -next(_local) for k in keys}}
        _merge()
    pending = getattr(_pending, "keys", None)
    if pending is None:
        pending = _pending.keys = set()
    pending.update(keys)
    # Every call registers a callback (a callback registered in a savepoint that rolls back is dropped); the first
    # to run publishes all pending keys and the others find nothing left. Outside a transaction it runs now.
    transaction.on_commit(_publish_pending, robust=True)


def products_changed(*product_ids: int, lists: bool = True) -> None:
    changed(*(product_key(pk) for pk in product_ids if pk is not None), *([LISTS] if lists else []))


def _publish_pending() -> None:
    global _db, _over
    keys = getattr(_pending, "keys", None)
    _pending.keys = None
    if keys:
        new = _bump(sorted(keys))
        with _lock:
            _db = {**_db, **new}
            _over = {k: v for k, v in _over.items() if k not in new}
            _merge()


def _bump(keys: list[str]) -> dict[str, int]:
    """Give each key a new value in the database; returns them. One statement on PostgreSQL (keys in a fixed
    order, so two bumps never wait on each other in opposite orders)."""
    q = connection.ops.quote_name
    table, key, value = q("shop_cacheversion"), q("key"), q("value")
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            rows = ", ".join(["(%s, nextval('shop_cacheversion_seq'))"] * len(keys))
            cur.execute(f"INSERT INTO {table} ({key}, {value}) VALUES {rows} ON CONFLICT ({key}) DO UPDATE "
                        f"SET {value} = EXCLUDED.{value} RETURNING {key}, {value}", keys)
            return dict(cur.fetchall())
        for k in keys:  # SQLite: one writer at a time, so MAX + 1 is unique
            cur.execute(f"INSERT INTO {table} ({key}, {value}) VALUES (%s, (SELECT COALESCE(MAX({value}), 0) + 1 "
                        f"FROM {table})) ON CONFLICT ({key}) DO UPDATE SET {value} = excluded.{value}", [k])
        cur.execute(f"SELECT {key}, {value} FROM {table} WHERE {key} IN ({', '.join(['%s'] * len(keys))})", keys)
        return dict(cur.fetchall())


def reset(empty: bool = False) -> None:
    """Forget what this process knows (tests: the database rolled back under it). ``empty``: the table is known to
    be empty (a test's fresh database), so the first look is not needed."""
    global _db, _over, _values, _newest, _checked
    with _lock:
        _db, _over, _values = {}, {}, {}
        _newest, _checked = (0, time.monotonic()) if empty else (None, float("-inf"))
    _pending.keys = None


# --------------------------------------------------------------------------------------------------- signals
def connect_signals() -> None:
    """Bump on every save and delete of what storefront pages show (called from ShopConfig.ready)."""
    from django.contrib.flatpages.models import FlatPage
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from .models import Category, Product, ProductImage, ProductVariant, Promotion

    def product(sender, instance, **kw):
        products_changed(instance.pk)

    def part(sender, instance, **kw):
        products_changed(instance.product_id)

    def site(sender, **kw):
        changed(SITE)

    for signal in (post_save, post_delete):
        signal.connect(product, sender=Product, dispatch_uid=f"shop.versions.product.{signal}", weak=False)
        for model in (ProductVariant, ProductImage, Promotion):
            signal.connect(part, sender=model, dispatch_uid=f"shop.versions.{model.__name__}.{signal}", weak=False)
        for model in (Category, FlatPage):
            signal.connect(site, sender=model, dispatch_uid=f"shop.versions.{model.__name__}.{signal}", weak=False)
    m2m_changed.connect(site, sender=FlatPage.sites.through, dispatch_uid="shop.versions.flatpage_sites",
                        weak=False)
