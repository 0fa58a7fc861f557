"""The session engine (``SESSION_ENGINE = "shop.sessions"``): Django's database sessions, kept in ``shop_session``
(model ``shop.Session``), read together with the visitor's cart lines in one plain SQL statement.

Sessions stay in the database on purpose (a Redis outage must not log shoppers out or lose their carts). Every
request of a visitor with a session reads it, and every page shows the cart's count, so session and lines are the
storefront's most frequent reads: Django's own ``SessionStore.load`` builds, compiles and runs a QuerySet and a
model instance, and the lines were a second round trip (benchmarks/shop/profile_pages.py).

The session row carries two columns written from its data at every save (``create_model_instance``): the signed-in
user's id and the anonymous cart's id. ``load`` joins the cart and its lines on them and keeps the lines on the
store as ``cart_lines = (owner, lines)``, owner being ``("user", id)`` or ``("cart", id)`` as the columns say.
``shop.cart.line_keys`` uses them only for a GET or HEAD (a request that changes nothing) and only when its own
owner, worked out from the decoded data, is the same: a row saved before the columns existed (NULL), a user the
authentication refused, or a data/column mismatch of any kind reads the lines again with their own statement.

On PostgreSQL the read is a prepared statement run through libpq itself (``_read_prepared``); in a transaction,
while queries are logged or watched, or with DATABASE_PREPARED_STATEMENTS=false it goes through Django's cursor.
Saving, creating, deleting and ``clearsessions`` are Django's, unchanged.

**Recent anonymous sessions** (``SHOP_SESSION_CACHE_SECONDS``, 0 = off): a GET or HEAD of a visitor who is not
signed in takes session and cart lines from what this process read for that key within that many seconds, without
the statement (under load it cost a cart page about a third of its time: benchmarks/shop/bench_pages.py). Such a
session changes through its own visitor's requests, so those say when it did:

- a request with an unsafe method (POST, PUT, PATCH, DELETE: every cart change, checkout, login, logout, the chat)
  or one that changed the session answers with the cookie ``sessionchanged`` (the moment, milliseconds), living as
  long as an entry could; a process uses an entry only if it read it more than ``CLOCK_MARGIN`` seconds after that
  moment (the web hosts' clocks agree within it), else it reads again;
- in the process where a cart's lines, a cart or a session are written (by the visitor's request or by anything else:
  the admin, a task, a script) the entry drops at once (model signals; ``shop.cart._lock`` for a queryset update).

So a visitor sees their own changes at once in every process. A change made outside the visitor's requests in
another process (the admin editing an anonymous cart, the cleanup of carts idle for weeks) shows within
``SHOP_SESSION_CACHE_SECONDS``; an entry also outlives its session's expiry by at most that much. A signed-in
visitor's session is never kept (a logout or password change elsewhere ends it at once).
"""
from __future__ import annotations

import marshal
import math
import threading
import time
import weakref
from collections import OrderedDict
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import SESSION_KEY as USER_SESSION_KEY
from django.contrib.sessions.backends import db
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import connections, router, transaction
from django.utils import timezone
from psycopg import errors as psycopg_errors
from psycopg import pq

DECODED_KEPT = 20_000  # decoded sessions kept per process (a few hundred bytes each)
CART_SESSION_KEY = "cart_id"  # shop.cart.SESSION_KEY (that module imports this one's model through shop.models)
CHANGED_COOKIE = "sessionchanged"  # when this visitor's session or cart last changed (epoch milliseconds)
CLOCK_MARGIN = 2.0  # seconds: the web hosts' clocks agree within this (NTP keeps them within milliseconds)
SAFE_METHODS = ("GET", "HEAD")


def _int_or_none(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


class _Recent:
    """Anonymous sessions this process read lately: key -> (stored data, cart lines, read at), least recently used
    dropped beyond DECODED_KEPT; and the key of each cart's session, so a change of the cart drops its entry.
    ``forgets`` counts what was dropped: a read that overlapped a drop is not kept (another thread's change may have
    come after the read began and before the entry was put)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items: OrderedDict = OrderedDict()
        self.keys_of_cart: dict[int, str] = {}
        self.forgets = 0

    def get(self, key: str, changed_at: float, seconds: float):
        now = time.time()
        with self.lock:
            entry = self.items.get(key)
            if entry is None:
                return None
            if now - entry[2] >= seconds:
                self._drop(key)
                return None
            if entry[2] <= changed_at + CLOCK_MARGIN:  # read before (or too close to) the visitor's last change
                return None
            self.items.move_to_end(key)
            return entry

    def put(self, key: str, data: str, cart_lines: tuple, read_at: float, forgets: int) -> None:
        with self.lock:
            if forgets != self.forgets:
                return
            self._drop(key)
            self.items[key] = (data, cart_lines, read_at)
            owner = cart_lines[0]
            if owner[0] == "cart" and owner[1] is not None:
                self.keys_of_cart[owner[1]] = key
            while len(self.items) > DECODED_KEPT:
                self._drop(next(iter(self.items)))

    def forget(self, key: str | None) -> None:
        if key:
            with self.lock:
                self.forgets += 1
                self._drop(key)

    def forget_cart(self, cart_id) -> None:
        with self.lock:
            self.forgets += 1
            key = self.keys_of_cart.get(cart_id)
            if key is not None:
                self._drop(key)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.keys_of_cart.clear()

    def _drop(self, key: str) -> None:
        entry = self.items.pop(key, None)
        if entry is not None:
            owner = entry[1][0]
            if owner[0] == "cart" and self.keys_of_cart.get(owner[1]) == key:
                del self.keys_of_cart[owner[1]]


_recent = _Recent()


def forget_cart(cart_id) -> None:
    """This process's kept session of an anonymous cart is stale: its lines (or the cart) changed. Dropped now and
    again when the transaction commits (another thread may read the old rows until then)."""
    _recent.forget_cart(cart_id)
    transaction.on_commit(lambda: _recent.forget_cart(cart_id))


def clear_recent() -> None:
    """Forget every kept session of this process (tests)."""
    _recent.clear()


class SessionStore(db.SessionStore):
    cart_lines: tuple | None = None  # (owner, ((product id, variant id, quantity), ...)) read with the session
    # Set by SessionMiddleware for a GET or HEAD while the cache is on: the visitor's last change (epoch seconds,
    # 0 for none known); None: read the database.
    recent_after: float | None = None

    @classmethod
    def get_model_class(cls):
        from .models import Session

        return Session

    def create_model_instance(self, data):
        obj = super().create_model_instance(data)
        obj.user_id = _int_or_none(data.get(USER_SESSION_KEY))
        obj.cart_id = None if obj.user_id is not None else _int_or_none(data.get(CART_SESSION_KEY))
        return obj

    def load(self):
        recent_after = self.recent_after
        if recent_after is not None:
            entry = _recent.get(self.session_key, recent_after, settings.SHOP_SESSION_CACHE_SECONDS)
            if entry is not None:
                self.cart_lines = entry[1]
                return self.decode(entry[0])
        read_at, forgets = time.time(), _recent.forgets  # before the read: a change during it is not counted as seen
        connection = connections[router.db_for_read(self.model)]
        rows = _read(connection, self.session_key, timezone.now())
        if not rows:
            self.cart_lines = None
            self._session_key = None  # as Django's: an unknown or expired key gets a new one when saved
            return {}
        data, user_id, cart_id = rows[0][:3]
        owner = ("user", user_id) if user_id is not None else ("cart", cart_id)
        self.cart_lines = (owner, sort_lines(r[3:] for r in rows if r[3] is not None))
        decoded = self.decode(data)
        # anonymous by its column and by its data (a row saved before the columns existed has NULL in both columns)
        if recent_after is not None and user_id is None and USER_SESSION_KEY not in decoded:
            _recent.put(self.session_key, data, self.cart_lines, read_at, forgets)
        return decoded

    def decode(self, session_data):
        """Django's decode (the signature checked, then the JSON read), remembered per process for the exact stored
        text: a visitor's session is read on every request and changes on few of them. Each caller gets objects of
        its own (a marshal copy), so a change to the returned data never reaches the remembered one."""
        try:
            return marshal.loads(_decoded(session_data, settings.SECRET_KEY))
        except ValueError:  # not plain data (a serializer other than JSON's): not remembered
            return super().decode(session_data)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware (MIDDLEWARE in config/settings.py), plus the ``sessionchanged`` cookie that lets
    any process keep a visitor's anonymous session between their changes (module docstring)."""

    def process_request(self, request):
        super().process_request(request)
        if request.method in SAFE_METHODS and settings.SHOP_SESSION_CACHE_SECONDS > 0:
            request.session.recent_after = _changed_at(request.COOKIES.get(CHANGED_COOKIE))

    def process_response(self, request, response):
        response = super().process_response(request, response)
        store = getattr(request, "session", None)
        if not isinstance(store, SessionStore) or settings.SHOP_SESSION_CACHE_SECONDS <= 0:
            return response
        # modified: changed, cleared, flushed or given a new key in this request (what Django saves); the entries
        # themselves were dropped in this process as the rows were written (connect_signals)
        if (request.method not in SAFE_METHODS or store.modified) and (
                store.session_key or settings.SESSION_COOKIE_NAME in request.COOKIES):
            response.set_cookie(
                CHANGED_COOKIE, str(int(time.time() * 1000)),
                max_age=math.ceil(settings.SHOP_SESSION_CACHE_SECONDS + CLOCK_MARGIN),
                path=settings.SESSION_COOKIE_PATH, domain=settings.SESSION_COOKIE_DOMAIN,
                secure=settings.SESSION_COOKIE_SECURE or None, httponly=True,
                samesite=settings.SESSION_COOKIE_SAMESITE)
        return response


def _changed_at(raw: str | None) -> float:
    """The moment of the cookie (epoch seconds): 0 without one, now for one that is not a number (read again)."""
    if raw is None:
        return 0.0
    if raw.isdigit() and len(raw) < 16:
        return int(raw) / 1000
    return time.time()


def connect_signals() -> None:
    """A cart's lines, a cart or a session written in this process drop this process's kept session of it (Django's
    database store saves and deletes its rows through the model, so a session saved, flushed or cycled sends them)."""
    from django.db.models.signals import post_delete, post_save

    from .models import Cart, CartLine, Session

    def line_changed(sender, instance, **kwargs):
        forget_cart(instance.cart_id)

    def cart_changed(sender, instance, **kwargs):
        forget_cart(instance.pk)

    def session_changed(sender, instance, **kwargs):
        key = instance.session_key
        _recent.forget(key)
        transaction.on_commit(lambda: _recent.forget(key))

    for signal in (post_save, post_delete):
        signal.connect(line_changed, sender=CartLine, dispatch_uid=f"shop.sessions.line.{signal is post_save}",
                       weak=False)
        signal.connect(cart_changed, sender=Cart, dispatch_uid=f"shop.sessions.cart.{signal is post_save}",
                       weak=False)
        signal.connect(session_changed, sender=Session, dispatch_uid=f"shop.sessions.session.{signal is post_save}",
                       weak=False)


@lru_cache(maxsize=DECODED_KEPT)
def _decoded(session_data: str, secret_key: str) -> bytes:
    """Django's decode of a stored session as marshal bytes (the secret is part of the key: a new one is a miss)."""
    return marshal.dumps(db.SessionStore.decode(SessionStore(), session_data))


@lru_cache(maxsize=4)
def _read_sql(alias: str) -> str:
    """The one statement, built once per database alias (``_read_prepared`` prepares its libpq form once per
    connection). One row per line of the session's cart (the signed-in user's, or the anonymous cart of the
    session), or one row with NULL lines; none for an unknown or expired key."""
    from .models import Cart, CartLine, Session

    q = connections[alias].ops.quote_name
    session, cart, line = (q(m._meta.db_table) for m in (Session, Cart, CartLine))
    return (f"SELECT s.session_data, s.user_id, s.cart_id, l.product_id, l.variant_id, l.quantity "
            f"FROM {session} s "
            f"LEFT JOIN {cart} c ON (c.user_id = s.user_id "
            f"OR (s.user_id IS NULL AND c.user_id IS NULL AND c.id = s.cart_id)) "
            f"LEFT JOIN {line} l ON l.cart_id = c.id "
            f"WHERE s.session_key = %s AND s.expire_date > %s")


def _read(connection, session_key: str, now) -> list[tuple]:
    """The rows of the one statement: (session_data, user_id, cart_id, product_id, variant_id, quantity)."""
    if _prepared_ok(connection):
        return _read_prepared(connection, session_key, now)
    with connection.cursor() as cur:
        cur.execute(_read_sql(connection.alias), [session_key, now])
        return cur.fetchall()


def _prepared_ok(connection) -> bool:
    """Run the statement prepared, straight through libpq? PostgreSQL, prepared statements allowed
    (``prepare_threshold`` in the database's OPTIONS: config/settings.py, DATABASE_PREPARED_STATEMENTS; false behind
    a pooler that keeps none), outside a transaction (a request's reads run in autocommit; inside ``atomic`` an
    error would abort the caller's transaction, so there Django's cursor runs it), and nobody watching Django's
    queries (DEBUG's log, a test capturing them, an ``execute_wrapper``): for them it goes through Django's cursor,
    the same statement with its text in the log."""
    return (connection.vendor == "postgresql" and not connection.in_atomic_block and not connection.queries_logged
            and not connection.execute_wrappers
            and connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold") is not None)


_PREPARED_NAME = b"shop_session_read"
_prepared_on = weakref.WeakSet()  # the driver connections this process prepared it on (a new one after a reconnect)


def _read_prepared(connection, session_key: str, now) -> list[tuple]:
    """The statement as a prepared statement, run with libpq's PQexecPrepared (``psycopg.pq``, psycopg's documented
    libpq wrapper): PostgreSQL plans it once per connection (a generic plan after its fifth run), and the request
    skips the driver's cursor machinery (binding, adapting, loading), which cost about as much as the round trip
    (benchmarks/shop/profile_pages.py --pages cart: the database call's line). Django's side is kept: the health
    check, reconnecting, and its exception classes (``wrap_database_errors``). Values come back as text (ids
    parsed here); the moment is sent as ISO text, which PostgreSQL reads for the column's type."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    conn = connection.connection
    params = [session_key.encode(), now.isoformat().encode()]
    with connection.wrap_database_errors, conn.lock:
        pg = conn.pgconn
        for attempt in (0, 1):
            if conn not in _prepared_on:
                made = pg.prepare(_PREPARED_NAME, _libpq_sql(connection.alias))
                if _sqlstate(made) != "42P05":  # "already exists": prepared on this session before, fine
                    _check(conn, made)
                _prepared_on.add(conn)
            result = pg.exec_prepared(_PREPARED_NAME, params)
            if attempt == 0 and _sqlstate(result) == "26000":  # the server forgot it (DEALLOCATE, DISCARD ALL)
                _prepared_on.discard(conn)
                continue
            _check(conn, result)
            break
    value = result.get_value
    rows = []
    for i in range(result.ntuples):
        data, user_id, cart_id, product_id, variant_id, quantity = (value(i, j) for j in range(6))
        rows.append((data.decode(), _int(user_id), _int(cart_id), _int(product_id), _int(variant_id),
                     _int(quantity)))
    return rows


def _int(raw: bytes | None) -> int | None:
    return None if raw is None else int(raw)


def _sqlstate(result) -> str | None:
    if result.status != pq.ExecStatus.FATAL_ERROR:
        return None
    code = result.error_field(pq.DiagnosticField.SQLSTATE)
    return code.decode() if code else None


def _check(conn, result) -> None:
    if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        raise psycopg_errors.error_from_result(result, encoding=conn.info.encoding)


@lru_cache(maxsize=4)
def _libpq_sql(alias: str) -> bytes:
    """The statement with libpq's numbered parameters."""
    return _read_sql(alias).replace("%s", "$1", 1).replace("%s", "$2", 1).encode()


def sort_lines(lines) -> tuple:
    """Cart lines (product id, variant id, quantity) in one order whatever the database (None before a size)."""
    return tuple(sorted((tuple(line) for line in lines), key=lambda r: (r[0], r[1] or 0)))
