"""The web process lives on requirements-web.txt alone; requirements.txt stays the complete install.

The web image installs only requirements-web.txt (no torch, 5 GB smaller). These tests run the web process as
that image would: every module of an installed distribution outside requirements-web.txt's dependency closure
(torch, torchvision, lightgbm, statsforecast, tqdm, the test tools...) is made unimportable by a sitecustomize,
then gunicorn serves a shopper's whole path (home, product, photo, cart, checkout, confirmation), every page
linked from home and the API, and the admin; Celery's task modules (what beat and the web process load to
enqueue) import too. A module the web process needs but requirements-web.txt lacks fails here, at merge time,
instead of in the web container.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT, db_env, free_port, png_bytes, wait_for_port

# Present in every fresh virtual environment (python -m venv), whatever the requirements say.
VENV_BASE = {"pip", "setuptools", "wheel"}
BLOCKER = '''
import importlib.abc, json, os, sys
BLOCKED = frozenset(json.loads(os.environ["SHOP_WEB_BLOCKED"]))
class WebOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is not installed by requirements-web.txt (the web image lacks it)",
                                      name=name)
        return None
sys.meta_path.insert(0, WebOnly())
'''


def requirement_lines(path: Path) -> list[str]:
    """Requirement lines of a pip requirements file, following -r includes."""
    out = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            out += requirement_lines(path.parent / line[3:].strip())
        else:
            out.append(line)
    return out


def pins(path: Path) -> dict[str, str]:
    result = {}
    for line in requirement_lines(path):
        req = Requirement(line)
        result[canonicalize_name(req.name)] = str(req.specifier)
    return result


def closure(path: Path) -> set[str]:
    """Installed distributions that `pip install -r path` brings in: the pins and their dependencies."""
    todo = [Requirement(line) for line in requirement_lines(path)]
    seen: set[str] = set()
    done: set[tuple[str, frozenset]] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        extras = frozenset(req.extras)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for spec in dist.requires or []:
            dep = Requirement(spec)
            envs = [dict(default_environment(), extra=e) for e in extras or {""}]
            if dep.marker is None or any(dep.marker.evaluate(env) for env in envs):
                todo.append(dep)
    return seen


def blocked_modules() -> list[str]:
    allowed = closure(ROOT / "requirements-web.txt") | VENV_BASE
    blocked = set()
    for module, dists in metadata.packages_distributions().items():
        if module.startswith("_") and module != "_pytest":
            continue  # private helpers (e.g. _distutils_hack) loaded by .pth files before any request
        if not any(canonicalize_name(d) in allowed for d in dists):
            blocked.add(module)
    return sorted(blocked)


def test_requirements_txt_is_the_web_set_plus_the_ml_pins():
    web, full = pins(ROOT / "requirements-web.txt"), pins(ROOT / "requirements.txt")
    assert "-r requirements-web.txt" in (ROOT / "requirements.txt").read_text()
    assert set(web) < set(full), "requirements.txt must include every web pin"
    for name, spec in full.items():
        assert re.fullmatch(r"={2,3}[\w.+!-]+", spec), f"{name} is not pinned exactly: {spec!r}"
    for ml in ("torch", "torchvision", "lightgbm", "statsforecast"):
        assert ml in full and ml not in web, ml
    assert "torch" not in closure(ROOT / "requirements-web.txt"), "a web pin pulls torch in"
    assert full["torch"] == "===2.13.0", "the registry build of torch (with CUDA) needs the '===' pin"
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev
    lines = requirement_lines(ROOT / "requirements.txt")
    assert len(lines) == len({canonicalize_name(Requirement(line).name) for line in lines}), "a duplicate pin"


def test_the_blocker_blocks_torch_and_the_test_tools():
    blocked = blocked_modules()
    assert {"torch", "torchvision", "lightgbm", "statsforecast", "pytest"} <= set(blocked)
    assert not {"django", "celery", "pandas", "sklearn", "PIL", "storages", "gunicorn"} & set(blocked)


@pytest.fixture
def web_only_env(tmp_path):
    site = tmp_path / "web-only"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = db_env()
    env.update({
        "PYTHONPATH": str(site), "SHOP_WEB_BLOCKED": json.dumps(blocked_modules()),
        "MEDIA_ROOT": str(tmp_path / "media"), "SHOP_EVENT_LOG": "direct", "DEBUG": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "CELERY_TASK_ALWAYS_EAGER": "true",
    })
    env.pop("AWS_STORAGE_BUCKET_NAME", None)
    return env


def test_blocker_works(web_only_env):
    out = subprocess.run([sys.executable, "-c", "import torch"], env=web_only_env, capture_output=True, text=True)
    assert out.returncode != 0 and "requirements-web.txt" in out.stderr


def test_celery_task_modules_import_on_the_web_set(web_only_env):
    """What beat and an enqueueing web process load: the settings, the Celery app and every tasks module."""
    queue = f"web-only-check-{os.getpid()}"
    code = ("import django, sys; django.setup(); from config.celery import app; "
            "app.loader.import_default_modules(); print(sorted(t for t in app.tasks if not t.startswith('celery.')))"
            # a message through the real broker loads kombu's Redis transport, as enqueueing an order email does
            f"; app.send_task('shop.tasks.flush_events', queue={queue!r}, ignore_result=True)"
            "; assert 'torch' not in sys.modules")
    broker = web_only_env.get("REDIS_URL") or pytest.skip("needs REDIS_URL (scripts/test.sh sets it)")
    env = dict(web_only_env, CELERY_TASK_ALWAYS_EAGER="false", CELERY_BROKER_URL=broker)
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    finally:
        import redis

        redis.Redis.from_url(broker).delete(queue)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "shop.tasks.send_order_confirmation" in out.stdout


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_shop_on_the_web_set(web_only_env, make_product, django_user_model, tmp_path):
    from shop import images
    from shop.models import Category, Order

    home = Category.objects.create(name="Kitchen", slug="kitchen")
    mugs = Category.objects.create(name="Mugs", slug="mugs", parent=home)
    for i in range(3):
        p = make_product(name=f"Harbor Mug {i}", category=mugs, stock=20)
        images.add_product_image(p, png_bytes((60 * i, 90, 200)), f"mug-{i}.png", alt=p.name)
    password = "web-only-admin-pass-91"
    django_user_model.objects.create_superuser("webadmin", "webadmin@example.com", password)

    port = free_port()
    env = dict(web_only_env, ADMIN_PASSWORD=password)
    log = open(tmp_path / "gunicorn.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
                             "--workers", "1", "--timeout", "120"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_for_port(port, proc, timeout=60)
        out = subprocess.run(
            [sys.executable, "scripts/smoke_shopper.py", "--base", f"http://127.0.0.1:{port}", "--crawl", "80",
             "--admin-user", "webadmin", "--admin-crawl", "40"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.seek(0)
        server_log = log.read()
        log.close()
    assert out.returncode == 0, out.stderr + "\n--- gunicorn ---\n" + server_log[-4000:]
    result = json.loads(out.stdout)
    assert Order.objects.filter(number=result["order"]).exists()
    assert result["photo_type"] == "png" and result["crawl"]["pages"] >= 10 and result["admin_crawl"]["pages"] >= 10
    assert "requirements-web.txt" not in server_log, server_log[-4000:]
