"""The slots on SQLite, the database of the demo shop (scripts/run.sh): the one-statement card query, the prices of
the cards (SQLite hands decimals back as floats), the session and cart lists."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_slots_render_on_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}", "SHOP_VAR_DIR": str(tmp_path),
           "MEDIA_ROOT": str(tmp_path / "media"), "SHOP_EVENT_LOG": "direct", "CELERY_TASK_ALWAYS_EAGER": "true",
           "RECOMMENDER_READ_CACHE_SECONDS": "0"}
    env.pop("REDIS_URL", None)
    r = subprocess.run([sys.executable, "-m", "tests.recommender.app.sqlite_probe"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["product"] == ["Mug 1", "Mug 2", "Mug 3", "Mug 4"]
    prices = out["product_prices"]
    assert "11.99 EUR" in prices[0] and "-" not in prices[0]                # no discount: no badge
    assert "9.59 EUR" in prices[1] and "-20%" in prices[1]                  # today's promotion
    assert out["home"] == ["Mug 1", "Mug 2", "Mug 3", "Mug 4"]               # the viewed Mug 0's neighbours
    assert "Mug 1" not in out["cart"] and out["cart"][:1] == ["Mug 0"]
