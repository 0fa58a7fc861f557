"""The storefront event log: product views (with where the click came from), cart changes and searches.

Views call `log(request, ...)`, which only appends to a list on the request. After the response is built,
EventFlushMiddleware hands the request's events over in one go:
  SHOP_EVENT_LOG=buffer: one RPUSH to a Redis list; the `flush_events` beat task writes them in batches (with
      Redis down or slow, the events are written straight to the database instead: shop.resilience);
  SHOP_EVENT_LOG=direct: one bulk INSERT (local mode without Redis);
  SHOP_EVENT_LOG=off: dropped.
Purchases are not events: they are order lines, written in the order's own transaction.
Visitors are told apart by a random `vid` cookie, so logging never creates a database session.

Other apps log through the same door: an impression (``Event.Kind.IMPRESSION``: products shown in a place of a
page) with ``data`` naming what was shown; a link that should be counted as a click carries ``?src=<source>&ref=
<label>`` and the product view it leads to records the label (``data={"ref": ...}``).

`recent_products(request)`: the products this visitor viewed or carted in this browser session (newest first),
kept in a session cookie (`recent`, at most RECENT_MAX ids) so pages can use them without a query.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import re
import secrets
import threading
from datetime import datetime, timezone

from django.conf import settings

from . import resilience
from .models import Event

log_ = logging.getLogger(__name__)
BUFFER_KEY = "shop:events"
VISITOR_COOKIE = "vid"
RECENT_COOKIE = "recent"
RECENT_MAX = 20
REF_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # the label of a link counted as a click
_RECENT_KINDS = {"view", "cart_add"}


def redis_client():
    """The Redis client for REDIS_URL, with short timeouts (shop.resilience)."""
    return resilience.client()


def visitor_id(request) -> str:
    vid = getattr(request, "_visitor_id", None)
    if vid is None:
        vid = request.COOKIES.get(VISITOR_COOKIE, "")
        if not (len(vid) == 32 and vid.isalnum()):
            vid = secrets.token_hex(16)
            request._new_visitor = True
        request._visitor_id = vid
    return vid


def log(request, kind: str, product=None, source: str = "", query: str = "", quantity: int = 1,
        variant=None, data: dict | None = None) -> None:
    product_id = getattr(product, "pk", product)
    request.__dict__.setdefault("_shop_events", []).append({
        "kind": kind, "at": datetime.now(timezone.utc).isoformat(), "session_key": visitor_id(request),
        "user_id": request.user.pk if request.user.is_authenticated else None,
        "product_id": product_id, "variant_id": getattr(variant, "pk", variant), "quantity": quantity,
        "source": source, "query": query[:200], "data": data or None,
    })
    if kind in _RECENT_KINDS and product_id is not None:
        recent = [product_id] + [p for p in recent_products(request) if p != product_id]
        request._recent_products = recent[:RECENT_MAX]
        request._recent_changed = True


def link_ref(request) -> str:
    """The label (``ref``) of the link that led to this page, if it is a well-formed one, else ""."""
    ref = request.GET.get("ref", "")
    return ref if REF_RE.fullmatch(ref) else ""


def recent_products(request) -> list[int]:
    """Ids of the products viewed or carted in this browser session, newest first (no query)."""
    recent = getattr(request, "_recent_products", None)
    if recent is None:
        recent = []
        for part in request.COOKIES.get(RECENT_COOKIE, "").split(".")[:RECENT_MAX]:
            if part.isdigit() and len(part) < 19 and int(part) not in recent:
                recent.append(int(part))
        request._recent_products = recent
    return recent


def write(records: list[dict]) -> int:
    """Insert event records (dicts as made by `log`) in one statement."""
    Event.objects.bulk_create([
        Event(kind=r["kind"], at=datetime.fromisoformat(r["at"]), session_key=r["session_key"],
              user_id=r["user_id"], product_id=r["product_id"], variant_id=r.get("variant_id"),
              quantity=r["quantity"], source=r["source"], query=r["query"], data=r.get("data")) for r in records
    ], batch_size=2000)
    return len(records)


def dispatch(records: list[dict]) -> None:
    mode = settings.SHOP_EVENT_LOG
    if not records or mode == "off":
        return
    if mode == "buffer" and settings.SHOP_EVENT_BATCH_SECONDS > 0:
        try:
            _shipper.add([json.dumps(r) for r in records])
            return
        except Exception:  # never fail a page because of analytics
            log_.exception("could not queue %d storefront events", len(records))
            return
    _ship(records)


def _ship(records: list[dict] | None = None, encoded: list[str] | None = None) -> None:
    """To the Redis buffer in one RPUSH; straight to the database in direct mode or when Redis is down. Give the
    records, or their JSON (``encoded``), or both."""
    try:
        if settings.SHOP_EVENT_LOG == "buffer" and resilience.available():
            try:
                redis_client().rpush(BUFFER_KEY, *(encoded if encoded is not None else map(json.dumps, records)))
                return
            except resilience.ERRORS as exc:
                resilience.failed(exc, "event buffer")
        # direct mode, or the buffer is down: straight to the database, nothing lost
        write(records if records is not None else [json.loads(x) for x in encoded])
    except Exception:  # never fail a page because of analytics
        log_.exception("could not log %d storefront events", len(records if records is not None else encoded))


class _Shipper:
    """Buffered events of this process, handed to Redis by a background thread in one RPUSH per batch, at most
    SHOP_EVENT_BATCH_SECONDS (at most 1 s) after their request (or as soon as BATCH_MAX are waiting): a request pays a list
    append instead of a round trip. Events still waiting when the process exits are pushed by an atexit hook; a
    process killed outright (SIGKILL, out of memory) loses at most that interval's events. With Redis down the
    thread writes them to the database (its own connection), as a request would."""

    BATCH_MAX = 500

    def __init__(self):
        self.cond = threading.Condition()
        self.items: list[str] = []
        self.pid = None

    def add(self, encoded: list[str]) -> None:
        with self.cond:
            if self.pid != os.getpid():  # first use in this process (gunicorn forks its workers)
                self.pid, self.items = os.getpid(), []
                threading.Thread(target=self._run, name="shop-events", daemon=True).start()
                atexit.register(self.flush)
            self.items.extend(encoded)
            if len(self.items) >= self.BATCH_MAX:
                self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                self.cond.wait(timeout=min(max(settings.SHOP_EVENT_BATCH_SECONDS, 0.01), 1.0))
                batch, self.items = self.items, []
            if batch:
                self._push(batch)

    def flush(self) -> None:
        with self.cond:
            batch, self.items = self.items, []
        if batch:
            self._push(batch)

    @staticmethod
    def _push(batch: list[str]) -> None:
        from django.db import connection

        try:
            _ship(encoded=batch)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()  # the thread's own connection, if the database was written to


_shipper = _Shipper()


def flush_pending() -> None:
    """Hand this process's waiting events over now (tests; shutdown does it by itself)."""
    _shipper.flush()


def flush_buffer(batch: int = 5000) -> int:
    """Move buffered events from Redis to the database. Safe to run concurrently: LPOP hands each out once."""
    r = redis_client()
    total = 0
    while True:
        raw = r.lpop(BUFFER_KEY, batch)
        if not raw:
            return total
        records = [json.loads(x) for x in raw]
        try:
            total += write(records)
        except Exception:
            r.lpush(BUFFER_KEY, *reversed(raw))  # put them back at the head, in order
            raise


class EventFlushMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        dispatch(request.__dict__.pop("_shop_events", []))
        if getattr(request, "_new_visitor", False):
            response.set_cookie(VISITOR_COOKIE, request._visitor_id, max_age=365 * 24 * 3600, httponly=True,
                                samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        if getattr(request, "_recent_changed", False):  # a session cookie: "this session's" products
            response.set_cookie(RECENT_COOKIE, ".".join(map(str, request._recent_products)), httponly=True,
                                samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        return response
