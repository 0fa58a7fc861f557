"""The production mode, run for real: SHOP_ENV=production (DEBUG off, the HTTPS settings on), collectstatic with the
manifest storage, and gunicorn serving the home page, a product page and the admin with 200 and every static file
they reference found. A missing file referenced by a vendored stylesheet once stopped production at collectstatic;
without the manifest every page is a 500."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import requests

from tests.conftest import ROOT, db_env, free_port, wait_for_port
from tests.ops.test_settings import manage, production_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
HOST = "shop.example.com"
HEADERS = {"Host": HOST, "X-Forwarded-Proto": "https"}  # as the TLS proxy in front of gunicorn sends them


def _static_refs(html: str) -> list[str]:
    return sorted(set(re.findall(r"""(?:href|src)=["'](/static/[^"'?#]+)""", html)))


class Browser:
    """Just enough of a browser for HTTPS behind a proxy: Secure cookies kept and sent, a Referer for CSRF."""

    def __init__(self, base):
        self.base, self.cookies = base, {}

    def request(self, method, path, **kw):
        headers = {**HEADERS, "Referer": f"https://{HOST}{path}", **kw.pop("headers", {})}
        r = requests.request(method, self.base + path, headers=headers, cookies=self.cookies, timeout=30,
                             allow_redirects=False, **kw)
        self.cookies.update(r.cookies.get_dict())
        return r

    def page(self, path):
        r = self.request("GET", path)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:300]}"
        refs = _static_refs(r.text)
        assert refs, f"{path} references no static file"
        for ref in refs:
            s = self.request("GET", ref)
            assert s.status_code == 200, f"{path} references {ref}, which answers {s.status_code}"
            assert "max-age=315360000" in s.headers.get("Cache-Control", ""), ref  # a hashed, immutable name
        return r


def test_production_mode_serves_pages_admin_and_static_files(make_product, admin_user, tmp_path, proc_cleanup):
    product = make_product(name="Production Kettle", stock=4)
    env = production_env(tmp_path, DATABASE_URL=db_env()["DATABASE_URL"], REDIS_URL=os.environ["REDIS_URL"],
                         ALLOWED_HOSTS=HOST, CSRF_TRUSTED_ORIGINS=f"https://{HOST}")
    out = manage(env, "collectstatic", "--noinput", "-v0")
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "static" / "staticfiles.json").exists()

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    proc_cleanup.append(proc)
    wait_for_port(port, proc)
    b = Browser(f"http://127.0.0.1:{port}")

    home = b.page("/")
    assert "Production Kettle" in home.text
    assert any(re.search(r"/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css", ref)
               for ref in _static_refs(home.text))  # names from the manifest
    assert "Production Kettle" in b.page(f"/p/{product.slug}/").text
    assert b.request("GET", "/").headers.get("Strict-Transport-Security")

    login = b.page("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    r = b.request("POST", "/admin/login/?next=/admin/", data={"username": admin_user.username, "password": "password",
                                                            "csrfmiddlewaretoken": token, "next": "/admin/"})
    assert r.status_code == 302, r.text[:500]
    assert "Production Kettle" in b.page("/admin/shop/product/").text
    b.page("/admin/shop/order/")

    missing = b.request("GET", "/no-such-page/")
    assert missing.status_code == 404 and "URLconf" not in missing.text  # DEBUG is off: no technical page
    plain = requests.get(f"http://127.0.0.1:{port}/", headers={"Host": HOST}, timeout=30, allow_redirects=False)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")  # HTTP goes to HTTPS
