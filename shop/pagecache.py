"""Storefront pages rendered once and served to every shopper, with the parts that belong to one visitor filled in
on each request.

A page (home, category, product, search, an empty cart) is rendered with **holes** where it depends on the visitor,
cut at them and kept in this process's memory with the change counters it was rendered under (shop.versions:
``site`` for every page, ``lists`` for lists, ``p<id>`` for a product's page) and today's date. A request for the
same page (the view's key: the path's meaningful parts, never raw query strings) is served from it while those are
unchanged; the holes are filled per request:

- ``csrf``: the visitor's CSRF token (every ``{% csrf_token %}`` in a page),
- ``cart``: the cart link and its count, ``account``: log in / the account and log out, ``messages``: Django's
  messages, taken as the request goes (``{% visitor "cart" %}`` etc. in base.html),
- ``slot:<name>``: the slots other apps fill (shop.slots: recommendations, the chat widget) unless all their
  renderers say ``page_cacheable = True`` (their output depends on nothing but settings).

Everything a view does per request stays in the view: product views and searches are logged for every request,
hit or miss (``events.log``), the A/B arm and the recommendations come from the slots, the visitor cookie from the
event middleware. A page is rendered the same way whether it is then kept or not (``SHOP_PAGE_CACHE=false`` keeps
nothing), so the holes are always exercised.

Memory: at most ``SHOP_PAGE_CACHE_MB`` per process (least recently used pages go first). Freshness: a change shows
at once in the process that made it and within ``SHOP_CACHE_FRESHNESS_SECONDS`` in the others (shop.versions).
Redis plays no part, so a Redis outage changes nothing here. Each response says ``X-Page-Cache: hit``, ``miss`` or
``off`` (the page was kept already, rendered now, or the cache is off).
"""
from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from . import versions

_HOLE = "<!--shop-hole:{}-->"
_HOLE_RE = re.compile(r"<!--shop-hole:([a-z_]+(?::[a-z_]+)?)-->")  # escaped text can never hold "<!--"


def hole(name: str) -> SafeString:
    return mark_safe(_HOLE.format(name))


CSRF_HOLE = hole("csrf")


def holes_wanted(request) -> bool:
    """Is this request rendering a page to be cut at its holes (and maybe kept)?"""
    return getattr(request, "_page_holes", False)


@dataclass
class Entry:
    parts: tuple  # text, hole name, text, hole name, ..., text
    deps: tuple   # ((version key, value), ...)
    day: date
    meta: dict = field(default_factory=dict)
    slot_context: dict = field(default_factory=dict)
    size: int = 0


@dataclass
class Page:
    """What a view's build step returns: the template and its context, the version keys the page depends on
    beyond ``site`` (e.g. ``lists``, ``p12``), data the view needs on every request (``meta``) and the values the
    slots' renderers get in their context."""

    template: str
    context: dict
    deps: Iterable[str] = ()
    meta: dict = field(default_factory=dict)
    slot_context: dict = field(default_factory=dict)
    status: int = 200


class _LRU:
    def __init__(self):
        self.lock = threading.Lock()
        self.items: OrderedDict = OrderedDict()
        self.bytes = 0

    def get(self, key):
        with self.lock:
            entry = self.items.get(key)
            if entry is not None:
                self.items.move_to_end(key)
            return entry

    def put(self, key, entry: Entry, limit: int) -> None:
        with self.lock:
            old = self.items.pop(key, None)
            if old is not None:
                self.bytes -= old.size
            if entry.size > limit:
                return
            self.items[key] = entry
            self.bytes += entry.size
            while self.bytes > limit and self.items:
                _, dropped = self.items.popitem(last=False)
                self.bytes -= dropped.size

    def drop(self, key) -> None:
        with self.lock:
            old = self.items.pop(key, None)
            if old is not None:
                self.bytes -= old.size

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.bytes = 0


_pages = _LRU()


def clear_local() -> None:
    """Forget this process's pages (tests; a benchmark's cold start)."""
    _pages.clear()


def stats() -> dict:
    return {"pages": len(_pages.items), "bytes": _pages.bytes}


def _fresh(entry: Entry, values: dict, day: date) -> bool:
    return entry.day == day and all(values.get(k, 0) == v for k, v in entry.deps)


def page(request, key: tuple, build: Callable[[], Page]) -> Entry:
    """The page for ``key``: the kept one if nothing it shows has changed, else ``build()`` rendered (and kept when
    the cache is on and the page is a 200). ``build`` may raise Http404 (nothing is kept)."""
    enabled = settings.SHOP_PAGE_CACHE
    values = versions.current()  # before any data is read: a change after this point makes the page stale
    day = versions.today()
    request._page_cache = "miss" if enabled else "off"
    if enabled:
        entry = _pages.get(key)
        if entry is not None:
            if _fresh(entry, values, day):
                request._page_cache = "hit"
                return entry
            _pages.drop(key)
    built = build()
    deps = tuple((k, values.get(k, 0)) for k in dict.fromkeys((versions.SITE, *built.deps)))
    request._page_holes = True
    try:
        html = render_to_string(built.template, built.context, request)
    finally:
        request._page_holes = False
    parts = tuple(_HOLE_RE.split(html))
    entry = Entry(parts, deps, day, built.meta, built.slot_context,
                  size=sum(len(p) for p in parts[::2]) + 200)
    entry.meta.setdefault("status", built.status)
    if enabled and built.status == 200:
        _pages.put(key, entry, settings.SHOP_PAGE_CACHE_MB * 1024 * 1024)
    return entry


def respond(request, entry: Entry, slot_context: dict | None = None) -> HttpResponse:
    """The page with this request's parts filled in (``slot_context``: this request's values for the slots, where
    they are the visitor's own, instead of those kept with the page)."""
    parts = entry.parts
    out = list(parts)
    context = entry.slot_context if slot_context is None else slot_context
    for i in range(1, len(parts), 2):
        out[i] = fill(parts[i], request, context)
    response = HttpResponse("".join(out), status=entry.meta.get("status", 200))
    response["X-Page-Cache"] = getattr(request, "_page_cache", "miss")  # hit / miss / off: for ops and benchmarks
    return response


# ------------------------------------------------------------------------------------------------- the holes
def fill(name: str, request, context: dict | None = None) -> str:
    if name == "csrf":
        return csrf_token(request)
    if name.startswith("slot:"):
        from . import slots

        # the token only if a renderer uses it: a new visitor's first token is a new secret and a cookie
        return slots.render(name[5:], request, {"request": request, "csrf_token": _lazy_token(request),
                                                **(context or {})})
    return VISITOR_PARTS[name](request)


def csrf_token(request) -> str:
    """The request's CSRF token, masked once for the whole page (as {% csrf_token %} does within a template).

    What Django's ``get_token`` does, with the random characters drawn from one ``os.urandom`` call instead of one
    call each (Django's 32 per mask, 64 for a first-time visitor, were a tenth of a cart or product page served from
    memory) and mapped and added by ``bytes.translate`` and one integer addition instead of a loop per character:
    the visitor's secret from the cookie, or a new one for a visitor without it (it goes out as the cookie
    at the end of the response, as Django's), the cookie flagged to be sent again (its expiry renewed), and the
    secret shifted by a fresh random mask (CSRF_ALLOWED_CHARS). Django's middleware checks it as its own
    (tests/shop/test_page_cache.py)."""
    token = getattr(request, "_page_csrf_token", None)
    if token is None:
        # CsrfViewMiddleware has put the cookie's secret here, or replaced a malformed cookie with a new secret
        secret = request.META.get("CSRF_COOKIE")
        if secret is None:
            secret = request.META["CSRF_COOKIE"] = _new_secret()
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
        token = request._page_csrf_token = _mask_secret(secret)
    return token


_CSRF_CHARS = CSRF_ALLOWED_CHARS.encode("ascii")
_CSRF_BASE = len(_CSRF_CHARS)  # 62
_CSRF_LIMIT = 256 - 256 % _CSRF_BASE  # random bytes at or above it are dropped, so every character is equally likely
_DROP = bytes(range(_CSRF_LIMIT, 256))
_BYTE_TO_INDEX = bytes(b % _CSRF_BASE for b in range(256))  # bytes.translate tables: all the work in C
_INDEX_TO_CHAR = _CSRF_CHARS + bytes(256 - _CSRF_BASE)
_SUM_TO_CHAR = bytes(_CSRF_CHARS[v % _CSRF_BASE] for v in range(2 * _CSRF_BASE)) + bytes(256 - 2 * _CSRF_BASE)
_CHAR_TO_INDEX = bytes(_CSRF_CHARS.index(b) if b in _CSRF_CHARS else 0 for b in range(256))


def _random_indexes() -> bytes:
    """CSRF_SECRET_LENGTH uniformly random indexes into CSRF_ALLOWED_CHARS (one byte each), from the system's
    CSPRNG: bytes at or above the largest multiple of 62 are dropped, the rest taken modulo 62."""
    out = b""
    while len(out) < CSRF_SECRET_LENGTH:
        out += os.urandom(CSRF_SECRET_LENGTH + 16).translate(None, _DROP)
    return out[:CSRF_SECRET_LENGTH].translate(_BYTE_TO_INDEX)


def _new_secret() -> str:
    return _random_indexes().translate(_INDEX_TO_CHAR).decode("ascii")


def _mask_secret(secret: str) -> str:
    """Django's masking (``mask[i]`` + ``secret[i]`` modulo 62, the mask first) on whole byte strings: every index is
    below 62, so the byte-wise sums of two 32-byte numbers never carry and one big-integer addition adds them all."""
    mask = _random_indexes()
    secret_indexes = secret.encode("ascii").translate(_CHAR_TO_INDEX)
    sums = (int.from_bytes(mask, "big") + int.from_bytes(secret_indexes, "big")).to_bytes(CSRF_SECRET_LENGTH, "big")
    return (mask.translate(_INDEX_TO_CHAR) + sums.translate(_SUM_TO_CHAR)).decode("ascii")


_lazy_token = lazy(csrf_token, str)  # made once: lazy() builds a class per call


def cart_link(request) -> str:
    from . import cart

    n = getattr(request, "_cart_count", None)  # the cart page counted its lines already
    if n is None:
        n = cart.count(request)
    return _cart_link(n)


@lru_cache(maxsize=128)
def _cart_link(n: int) -> str:
    return format_html('<a class="btn btn-sm btn-warning text-nowrap" href="{}" id="cart-link" aria-label="Cart, {} '
                       'item{}">Cart <span class="badge text-bg-dark" id="cart-count">{}</span></a>',
                       _url("shop:cart"), n, "" if n == 1 else "s", n)


def account_links(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return format_html(
            '<a class="btn btn-sm btn-outline-light" href="{}">{}</a>\n          <form method="post" action="{}" '
            'class="d-inline"><input type="hidden" name="csrfmiddlewaretoken" value="{}"><button class="btn btn-sm '
            'btn-link text-light">Log out</button></form>', _url("shop:account"), user.get_username(),
            _url("logout"), csrf_token(request))
    return _anonymous_links()


@lru_cache(maxsize=1)
def _anonymous_links() -> str:
    return format_html('<a class="btn btn-sm btn-outline-light" href="{}">Log in</a>\n          <a class="btn btn-sm '
                       'btn-link text-light" href="{}">Sign up</a>', _url("login"), _url("shop:signup"))


def messages_html(request) -> str:
    found = list(get_messages(request))
    if not found:
        return ""
    return render_to_string("shop/_messages.html", {"messages": found})


@lru_cache(maxsize=32)
def _url(name: str) -> str:
    return reverse(name)


VISITOR_PARTS: dict[str, Callable] = {"cart": cart_link, "account": account_links, "messages": messages_html}
