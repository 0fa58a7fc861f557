"""Django's PostgreSQL backend (``ENGINE = "config.postgres"`` when DATABASE_URL is PostgreSQL), with one change:
the health check of a kept connection (``CONN_HEALTH_CHECKS``, once per request before its first query) asks the
socket instead of the server.

Django's check sends ``SELECT 1`` and waits for the answer: a round trip on every request, a fifth of a page served
from memory (benchmarks/shop/profile_pages.py). A connection that sits idle between requests has nothing to read
unless the server said something on its own, and what a server says before it drops a connection (restart,
``pg_terminate_backend``, ``idle_session_timeout``) is an error message followed by the close, both of which make
the socket readable. So: nothing to read and libpq's state is fine -> usable, no round trip; anything to read (or a
connection that is not idle) -> Django's own check, which reads it and decides. A peer that vanished without a
word (a cut cable) is not caught by either check before the query itself times out.
"""
from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        conn = self.connection
        if conn is None:
            return False
        try:
            idle = (not conn.closed and conn.pgconn.status == pq.ConnStatus.OK
                    and conn.pgconn.transaction_status == pq.TransactionStatus.IDLE)
            if idle:
                poller = select.poll()
                poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
                if not poller.poll(0):
                    return True
        except (OSError, ValueError, AttributeError):  # a closed descriptor; no poll() on this platform
            pass
        return super().is_usable()
