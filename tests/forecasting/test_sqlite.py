"""The SQLite default: a web process and a worker write at once without "database is locked"."""
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def run(role, env, *args):
    return subprocess.Popen([sys.executable, "-m", "tests.forecasting.sqlite_load", role, *map(str, args)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_web_and_worker_write_at_once_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                                                               "CELERY_RESULT_BACKEND")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", SHOP_VAR_DIR=str(tmp_path),
               MEDIA_ROOT=str(tmp_path / "media"), SHOP_EVENT_LOG="direct", CELERY_TASK_ALWAYS_EAGER="true")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = run("setup", env)
    out = setup.communicate(timeout=120)[0]
    assert setup.returncode == 0, out
    assert out.splitlines()[0] == "wal"  # readers never block the writer, nor the writer the readers
    worker, web = run("worker", env, 4), run("web", env, 300)
    outputs = [p.communicate(timeout=600)[0] for p in (worker, web)]
    for p, text in zip((worker, web), outputs):
        assert "database is locked" not in text and p.returncode == 0, text[-3000:]
    import sqlite3

    db = sqlite3.connect(tmp_path / "db.sqlite3")
    assert db.execute("select count(*) from shop_event").fetchone()[0] == 300
    assert db.execute("select count(*) from shop_order").fetchone()[0] == 30
    live = db.execute("select count(*) from forecasting_forecast f join forecasting_publication p "
                      "on p.id = f.publication_id where p.status = 'live'").fetchone()[0]
    assert live == 300 * 45
    assert db.execute("select status from registry_trainingrun").fetchone()[0] == "succeeded"
