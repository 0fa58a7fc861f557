"""The storefront's pages on SQLite, the database of the demo (scripts/run.sh): the same tests, another process.

Search (FTS5 instead of PostgreSQL's full-text search), JSON lookups of the filters, the shop pages, and the session
engine's one statement for a session and its cart's lines differ between the two databases; the rest of the suite
runs on PostgreSQL only.
"""
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import ROOT

MODULES = ["tests/shop/test_search.py", "tests/shop/test_catalog.py", "tests/shop/test_shop_pages.py",
           "tests/shop/test_sessions.py", "tests/shop/test_cart.py"]


@pytest.mark.slow
def test_storefront_tests_pass_on_sqlite(tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("already on SQLite")
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *MODULES], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout
