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

Saving, creating, deleting and ``clearsessions`` are Django's, unchanged.
"""
from __future__ import annotations

import marshal
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import SESSION_KEY as USER_SESSION_KEY
from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

DECODED_KEPT = 20_000  # decoded sessions kept per process (a few hundred bytes each)
CART_SESSION_KEY = "cart_id"  # shop.cart.SESSION_KEY (that module imports this one's model through shop.models)


def _int_or_none(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


class SessionStore(db.SessionStore):
    cart_lines: tuple | None = None  # (owner, ((product id, variant id, quantity), ...)) read with the session

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
        connection = connections[router.db_for_read(self.model)]
        with _prepared_cursor(connection) as cur:
            cur.execute(_read_sql(connection.alias), [self.session_key, timezone.now()])
            rows = cur.fetchall()
        if not rows:
            self.cart_lines = None
            self._session_key = None  # as Django's: an unknown or expired key gets a new one when saved
            return {}
        data, user_id, cart_id = rows[0][:3]
        owner = ("user", user_id) if user_id is not None else ("cart", cart_id)
        self.cart_lines = (owner, sort_lines(r[3:] for r in rows if r[3] is not None))
        return self.decode(data)

    def decode(self, session_data):
        """Django's decode (the signature checked, then the JSON read), remembered per process for the exact stored
        text: a visitor's session is read on every request and changes on few of them. Each caller gets objects of
        its own (a marshal copy), so a change to the returned data never reaches the remembered one."""
        try:
            return marshal.loads(_decoded(session_data, settings.SECRET_KEY))
        except ValueError:  # not plain data (a serializer other than JSON's): not remembered
            return super().decode(session_data)


@lru_cache(maxsize=DECODED_KEPT)
def _decoded(session_data: str, secret_key: str) -> bytes:
    """Django's decode of a stored session as marshal bytes (the secret is part of the key: a new one is a miss)."""
    return marshal.dumps(db.SessionStore.decode(SessionStore(), session_data))


@lru_cache(maxsize=4)
def _read_sql(alias: str) -> str:
    """The one statement, built once per database alias (the same text on every request, which is also what lets
    PostgreSQL keep it prepared). One row per line of the session's cart (the signed-in user's, or the anonymous
    cart of the session), or one row with NULL lines; none for an unknown or expired key."""
    from .models import Cart, CartLine, Session

    q = connections[alias].ops.quote_name
    session, cart, line = (q(m._meta.db_table) for m in (Session, Cart, CartLine))
    return (f"SELECT s.session_data, s.user_id, s.cart_id, l.product_id, l.variant_id, l.quantity "
            f"FROM {session} s "
            f"LEFT JOIN {cart} c ON (c.user_id = s.user_id "
            f"OR (s.user_id IS NULL AND c.user_id IS NULL AND c.id = s.cart_id)) "
            f"LEFT JOIN {line} l ON l.cart_id = c.id "
            f"WHERE s.session_key = %s AND s.expire_date > %s")


def _prepared_cursor(connection):
    """A cursor whose statements PostgreSQL plans once per connection (a prepared statement) where the settings
    allow it (``prepare_threshold`` in the database's OPTIONS: config/settings.py, DATABASE_PREPARED_STATEMENTS):
    Django binds parameters on the client, so each of its statements is parsed and planned on every run, which for
    this three-table read costs more than running it. Otherwise (SQLite; a pooler that keeps no prepared
    statements) Django's own cursor, and also while queries are logged (DEBUG, a test capturing them), so the log
    shows the statement's text. Either way through Django's wrapper: the health check and error wrapping are the
    same as for any query."""
    if (connection.vendor != "postgresql" or connection.queries_logged
            or connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold") is None):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_prepared_class()(connection.connection))


@lru_cache(maxsize=1)
def _prepared_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparedCursor


def sort_lines(lines) -> tuple:
    """Cart lines (product id, variant id, quantity) in one order whatever the database (None before a size)."""
    return tuple(sorted((tuple(line) for line in lines), key=lambda r: (r[0], r[1] or 0)))
