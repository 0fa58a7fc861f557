"""The storefront event log: product views (with where the click came from), cart changes and searches.

Views call `log(request, ...)`, which only appends to a list on the request. After the response is built,
EventFlushMiddleware hands the request's events over in one go:
  SHOP_EVENT_LOG=buffer: one RPUSH to a Redis list; the `flush_events` beat task writes them in batches;
  SHOP_EVENT_LOG=direct: one bulk INSERT (local mode without Redis);
  SHOP_EVENT_LOG=off: dropped.
Purchases are not events: they are order lines, written in the order's own transaction.
Visitors are told apart by a random `vid` cookie, so logging never creates a database session.
"""
from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timezone

from django.conf import settings

from .models import Event

log_ = logging.getLogger(__name__)
BUFFER_KEY = "shop:events"
VISITOR_COOKIE = "vid"
_redis = None


def redis_client():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


def visitor_id(request) -> str:
    vid = getattr(request, "_visitor_id", None)
    if vid is None:
        vid = request.COOKIES.get(VISITOR_COOKIE, "")
        if not (len(vid) == 32 and vid.isalnum()):
            vid = secrets.token_hex(16)
            request._new_visitor = True
        request._visitor_id = vid
    return vid


def log(request, kind: str, product=None, source: str = "", query: str = "", quantity: int = 1) -> None:
    request.__dict__.setdefault("_shop_events", []).append({
        "kind": kind, "at": datetime.now(timezone.utc).isoformat(), "session_key": visitor_id(request),
        "user_id": request.user.pk if request.user.is_authenticated else None,
        "product_id": getattr(product, "pk", product), "quantity": quantity, "source": source,
        "query": query[:200],
    })


def write(records: list[dict]) -> int:
    """Insert event records (dicts as made by `log`) in one statement."""
    Event.objects.bulk_create([
        Event(kind=r["kind"], at=datetime.fromisoformat(r["at"]), session_key=r["session_key"],
              user_id=r["user_id"], product_id=r["product_id"], quantity=r["quantity"], source=r["source"],
              query=r["query"]) for r in records
    ], batch_size=2000)
    return len(records)


def dispatch(records: list[dict]) -> None:
    mode = settings.SHOP_EVENT_LOG
    if not records or mode == "off":
        return
    try:
        if mode == "buffer":
            redis_client().rpush(BUFFER_KEY, *[json.dumps(r) for r in records])
        else:
            write(records)
    except Exception:  # never fail a page because of analytics
        log_.exception("could not log %d storefront events", len(records))


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
        return response
