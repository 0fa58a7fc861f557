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

**Shared between processes** (``SHOP_PAGE_CACHE_SHARED_SECONDS``, default 600; 0 = off; only with ``REDIS_URL`` and
PostgreSQL): a page this process renders is also put in Redis (pickled, zlib-compressed, with the same change
counters and day), and a page this process does not have is looked for there before it is rendered, so each page
is rendered once for all web processes and hosts, not once per process (after a deploy, and after every change to
``lists`` or a product). A page from Redis is served only under the same test as a kept one: the change counters it
was rendered under equal this process's and the day is today's; so freshness is exactly that of the process's own
pages. Only pages rendered under counters every process shares are put there (not under this process's own
uncommitted bumps, not before ``site`` was ever bumped), keyed on the page's key and the **build** (a digest of the
project's code, templates, static manifest and plain settings: processes of another release never share pages).
The counters' sequence starts at a random value in each new database (migration 0012), so a database made anew
beside an old Redis never meets the old pages' counters. Redis trouble: the page is rendered as without the shared
level (shop.resilience: short timeouts, then a pause). Entries expire after the configured seconds.

Each response says ``X-Page-Cache: hit``, ``shared``, ``miss`` or ``off`` (the page was kept in this process, came
from Redis, was rendered now, or the cache is off).
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from . import resilience, versions

log = logging.getLogger(__name__)
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
    limit = settings.SHOP_PAGE_CACHE_MB * 1024 * 1024
    if enabled:
        entry = _pages.get(key)
        if entry is not None:
            if _fresh(entry, values, day):
                request._page_cache = "hit"
                return entry
            _pages.drop(key)
        entry = _shared_get(key)
        if entry is not None and _fresh(entry, values, day):
            request._page_cache = "shared"
            _pages.put(key, entry, limit)
            return entry
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
        _pages.put(key, entry, limit)
        _shared_put(key, entry)
    return entry


# ------------------------------------------------------------------------------------- shared between processes
def _shared_on() -> bool:
    return bool(settings.SHOP_PAGE_CACHE_SHARED_SECONDS and settings.REDIS_URL) and _postgresql()


@lru_cache(maxsize=1)
def _postgresql() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _shared_key(key: tuple) -> str:
    return f"shop:page:{build_id()}:{hashlib.sha1(repr(key).encode()).hexdigest()}"


def _shareable(entry: Entry) -> bool:
    """Counters every process shares: none of this process's own uncommitted bumps (negative), and ``site`` bumped
    at least once in this database (a value from its sequence, which starts at random: migration 0012)."""
    deps = dict(entry.deps)
    return deps.get(versions.SITE, 0) > 0 and all(v >= 0 for v in deps.values())


def _shared_get(key: tuple) -> Entry | None:
    if not _shared_on() or not resilience.available():
        return None
    try:
        blob = resilience.client().get(_shared_key(key))
    except resilience.ERRORS as exc:
        resilience.failed(exc, "redis page cache")
        return None
    if blob is None:
        return None
    try:
        entry = pickle.loads(zlib.decompress(blob))
    except Exception as exc:  # noqa: BLE001 - anything undecodable (another release's classes, a torn value)
        log.warning("a shared page could not be read (%s: %s); rendering it", exc.__class__.__name__, exc)
        return None
    if not isinstance(entry, Entry) or not _shareable(entry):
        return None
    return entry


def _shared_put(key: tuple, entry: Entry) -> None:
    if not _shared_on() or not _shareable(entry) or not resilience.available():
        return
    try:
        blob = zlib.compress(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL), 1)
    except Exception as exc:  # noqa: BLE001 - a value in meta or slot_context that cannot be pickled
        log.warning("a page could not be shared (%s: %s)", exc.__class__.__name__, exc)
        return
    try:
        resilience.client().set(_shared_key(key), blob, ex=max(1, round(settings.SHOP_PAGE_CACHE_SHARED_SECONDS)))
    except resilience.ERRORS as exc:
        resilience.failed(exc, "redis page cache")


_SETTING_TYPES = (str, int, float, bool, type(None))
_SECRET = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL|DSN", re.I)


@lru_cache(maxsize=1)
def build_id() -> str:
    """What a page's bytes can depend on beside its data, as a digest: the Python code and templates of the project's
    apps and template folders, the static files' manifest (hashed names), Django's version and the plain settings
    (strings, numbers, flags; none whose name says secret). Processes of one release agree; another release, or a
    host with other settings, does not share its pages."""
    import django
    from django.apps import apps

    base = Path(settings.BASE_DIR).resolve()
    roots = {Path(a.path).resolve() for a in apps.get_app_configs()}
    roots = {r for r in roots if r.is_relative_to(base) and "site-packages" not in r.parts}  # the project's own
    roots |= {Path(d).resolve() for t in settings.TEMPLATES for d in t.get("DIRS", ())}
    files = sorted({f for r in roots if r.is_dir() for f in r.rglob("*")
                    if f.suffix in (".py", ".html", ".txt") and "__pycache__" not in f.parts and f.is_file()})
    manifest = Path(settings.STATIC_ROOT or "/nonexistent") / "staticfiles.json"
    if manifest.is_file():
        files.append(manifest)
    h = hashlib.sha1(django.get_version().encode())
    for f in files:
        h.update(str(f.relative_to(base) if f.is_relative_to(base) else f).encode() + b"\0" + f.read_bytes())
    for name in sorted(n for n in dir(settings) if n.isupper() and not _SECRET.search(n)):
        value = getattr(settings, name)
        if isinstance(value, _SETTING_TYPES) and name != "SHOP_PAGE_CACHE_SHARED_SECONDS":
            h.update(f"{name}={value!r}\0".encode())
    return h.hexdigest()[:16]


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
