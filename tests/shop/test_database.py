"""The web and worker connections to PostgreSQL: without its JIT compiler (DATABASE_JIT, default off: on a
10,000-product catalog it spent ~40 ms compiling a recommendation slot's 10 ms query on every cold page), and
through config.postgres, whose health check of a kept connection costs no round trip yet still finds a connection
the server dropped."""
from __future__ import annotations

import time

import psycopg
import pytest
from django.db import close_old_connections, connection

from shop.models import Product

pytestmark = pytest.mark.django_db


def test_postgresql_jit_is_off_for_the_shops_connections():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cur:
        cur.execute("SHOW jit")
        assert cur.fetchone()[0] == "off"


def _pg_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


def _other_connection():
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"] or "postgres",
                           dbname=s["NAME"], autocommit=True)


def _last_statement_of(pid: int) -> str:
    with _other_connection() as other:
        return other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_health_check_of_an_idle_connection_costs_no_round_trip():
    """config.postgres: a kept connection is checked once per request; Django's check sends SELECT 1 each time."""
    _pg_only()
    assert connection.settings_dict["ENGINE"] == "config.postgres"
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid(), 'health-check-marker'")
        pid = cur.fetchone()[0]
    assert connection.is_usable()
    assert "health-check-marker" in _last_statement_of(pid)  # nothing was sent after it


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_found_and_replaced():
    """PostgreSQL restarted or an operator ended the backend: the next request's check finds it (the server's goodbye
    makes the socket readable), Django reconnects, and the request's query runs."""
    _pg_only()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with _other_connection() as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not connection.is_usable()
    close_old_connections()  # a new request starts (request_started): its first query checks, reconnects, runs
    assert Product.objects.count() == 0
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid
