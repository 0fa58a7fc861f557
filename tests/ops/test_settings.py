"""Production settings, checked the way the process starts: `manage.py check --deploy` in a subprocess.

Each run gets a clean environment (only PATH/HOME/LANG from outside), so the developer's shell cannot hide a
missing setting, and SHOP_VAR_DIR / STATIC_ROOT / MEDIA_ROOT point at a temporary folder.
"""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop_test"

def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    db = os.environ.get("DATABASE_URL", "")
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}
    env.update({
        "SHOP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),  # 80 characters, high entropy
        "ALLOWED_HOSTS": "shop.example.com",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DATABASE_URL": db if db.startswith("postgres") else DEFAULT_DB,
        "SHOP_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


def test_check_deploy_is_clean(tmp_path):
    out = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "no issues" in report


def test_production_needs_secret_key(tmp_path):
    out = manage(production_env(tmp_path, SECRET_KEY=None), "check")
    assert out.returncode != 0
    assert "SECRET_KEY" in out.stderr
    assert "ImproperlyConfigured" in out.stderr


def test_production_refuses_debug(tmp_path):
    out = manage(production_env(tmp_path, DEBUG="true"), "check")
    assert out.returncode != 0
    assert "DEBUG" in out.stderr
    assert "ImproperlyConfigured" in out.stderr


@pytest.mark.parametrize("missing", ["ALLOWED_HOSTS", "REDIS_URL"])
def test_production_needs_hosts_and_broker(tmp_path, missing):
    out = manage(production_env(tmp_path, **{missing: None}), "check")
    assert out.returncode != 0
    assert missing in out.stderr


def test_production_secure_defaults(tmp_path):
    code = ("from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000, '/media/' not in s.STATIC_URL)")
    out = manage(production_env(tmp_path), "shell", "-c", code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1].split() == ["False", "True", "True", "True", "True", "True"]


def test_production_collectstatic_builds_the_manifest(tmp_path):
    """The web entrypoint runs collectstatic under `set -e`: a missing file referenced by a vendored stylesheet
    (a source map) used to stop the container, and without the manifest every page is a 500."""
    out = manage(production_env(tmp_path), "collectstatic", "--noinput", "-v0")
    assert out.returncode == 0, out.stderr[-2000:]
    manifest = tmp_path / "static" / "staticfiles.json"
    assert manifest.exists()
    import json

    paths = json.loads(manifest.read_text())["paths"]
    assert "vendor/bootstrap/bootstrap.min.css" in paths
    assert (tmp_path / "static" / paths["vendor/bootstrap/bootstrap.min.css"]).exists()


@pytest.mark.parametrize("key", [
    "change-me-to-50-plus-random-characters",          # the .env.example placeholder
    "x",
    "short-but-random-Zq8#kP2",                         # under 50 characters
    "django-insecure-" + secrets.token_urlsafe(50),    # Django's own marker of a development key
    "a" * 80,                                          # long, one character
    "abcd" * 20,                                       # long, four characters
    "change-me-" + secrets.token_urlsafe(50),          # a placeholder someone appended to
], ids=["placeholder", "x", "short", "django-insecure", "one-char", "four-chars", "change-me-prefix"])
def test_production_refuses_a_weak_secret_key(tmp_path, key):
    out = manage(production_env(tmp_path, SECRET_KEY=key), "check")
    assert out.returncode != 0
    assert "ImproperlyConfigured" in out.stderr and "SECRET_KEY" in out.stderr
    assert len(key) < 10 or key not in out.stderr  # the message never echoes the key


def test_local_mode_accepts_any_key(tmp_path):
    env = production_env(tmp_path, SHOP_ENV="local", SECRET_KEY="x")
    assert manage(env, "check").returncode == 0


def test_production_api_has_no_basic_auth_unless_asked(tmp_path):
    code = "from django.conf import settings as s; print(s.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'])"
    out = manage(production_env(tmp_path), "shell", "-c", code)
    assert out.returncode == 0, out.stderr
    assert "Basic" not in out.stdout and "SessionAuthentication" in out.stdout
    out = manage(production_env(tmp_path, API_BASIC_AUTH="true"), "shell", "-c", code)
    assert "shop.authentication.BasicAuthentication" in out.stdout
