"""The web and worker connections to PostgreSQL run without its JIT compiler (DATABASE_JIT, default off): on a
10,000-product catalog it spent ~40 ms compiling a recommendation slot's 10 ms query on every cold page."""
from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_postgresql_jit_is_off_for_the_shops_connections():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cur:
        cur.execute("SHOW jit")
        assert cur.fetchone()[0] == "off"
