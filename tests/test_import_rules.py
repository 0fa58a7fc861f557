"""The import rules as code (.importlinter, run with import-linter): shop imports no ML app; the engines and mlcore
import no Django; forecasting and recommender do not import each other; the web process reaches no module that
imports torch. The rules are checked on this repository, and each is shown to catch a planted violation."""
import configparser
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT = Path(sys.executable).with_name("lint-imports")
LATER_APPS = ("registry", "chatbot")   # apps other branches add; checked as soon as they exist


def _config(root: Path, out: Path) -> Path:
    """.importlinter, plus the apps that exist under ``root`` (registry, chatbot and chatbot.engine)."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / ".importlinter")
    roots = cfg["importlinter"]["root_packages"].split()
    for app in LATER_APPS:
        if (root / app / "__init__.py").exists() and app not in roots:
            roots.append(app)
    cfg["importlinter"]["root_packages"] = "\n" + "\n".join(roots)
    engines = cfg["importlinter:contract:engines-import-no-django"]
    if (root / "chatbot" / "engine" / "__init__.py").exists():
        engines["source_modules"] += "\nchatbot.engine"
    with out.open("w") as fh:
        cfg.write(fh)
    return out


def _lint(root: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(_config(root, tmp_path / "importlinter.ini")), "--no-cache"],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def test_this_repository_keeps_every_import_rule(tmp_path):
    r = _lint(ROOT, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout and "5 kept" in r.stdout


PLANTED = {
    "shop-imports-no-ml-app": ("shop/views.py", "from forecasting import services\n"),
    "engines-import-no-django": ("recommender/engine/api.py", "from django.conf import settings\n"),
    "engines-indirectly": ("mlcore/config.py", "from shop import analytics\n"),
    "forecasting-recommender-independent": ("recommender/engine/images.py", "from forecasting.engine import images\n"),
    "web-process-imports-no-torch": ("config/urls.py", "from recommender.engine import api\n"),
}


@pytest.mark.parametrize("rule", sorted(PLANTED))
def test_each_rule_catches_a_planted_violation(rule, tmp_path):
    root = tmp_path / "repo"
    for pkg in ("config", "shop", "forecasting", "forecasting/engine", "recommender", "recommender/engine",
                "mlcore"):
        (root / pkg).mkdir(parents=True)
        (root / pkg / "__init__.py").write_text("")
    (root / "forecasting" / "services.py").write_text("from forecasting.engine import api\n")
    (root / "forecasting" / "engine" / "api.py").write_text("import torch\n")
    (root / "recommender" / "engine" / "api.py").write_text("import numpy\n")
    (root / "recommender" / "engine" / "images.py").write_text("from mlcore import images\n")
    (root / "mlcore" / "images.py").write_text("def f():\n    import torch\n")
    (root / "mlcore" / "config.py").write_text("import dataclasses\n")
    (root / "shop" / "views.py").write_text("from django.http import HttpResponse\n")
    (root / "shop" / "analytics.py").write_text("from django.db import models\n")
    (root / "config" / "urls.py").write_text("from shop import views\n")
    (root / "config" / "wsgi.py").write_text("")
    (root / "config" / "settings.py").write_text("")
    clean = _lint(root, tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    path, line = PLANTED[rule]
    with (root / path).open("a") as fh:
        fh.write(line)
    broken = _lint(root, tmp_path)
    assert broken.returncode != 0 and "BROKEN" in broken.stdout, broken.stdout + broken.stderr
