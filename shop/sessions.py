"""The session engine (``SESSION_ENGINE = "shop.sessions"``): Django's database sessions, read with one plain SQL
statement.

Sessions stay in the database on purpose (a Redis outage must not log shoppers out or lose their carts). Every
request of a visitor with a session reads it, so this is the storefront's most frequent query: Django's own
``SessionStore.load`` builds, compiles and runs a QuerySet and a model instance for it, about half of the time of
a cart page served from the page cache (benchmarks/shop/profile_pages.py). This store runs the same statement
(the row with this key that has not expired) straight through the connection and decodes it the same way; saving,
creating, deleting and ``clearsessions`` are Django's, unchanged.
"""
from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def load(self):
        model = self.model
        connection = connections[router.db_for_read(model)]
        q = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute(f"SELECT {q('session_data')} FROM {q(model._meta.db_table)} "
                        f"WHERE {q('session_key')} = %s AND {q('expire_date')} > %s",
                        [self.session_key, timezone.now()])
            row = cur.fetchone()
        if row is None:
            self._session_key = None  # as Django's: an unknown or expired key gets a new one when saved
            return {}
        return self.decode(row[0])
