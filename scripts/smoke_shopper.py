#!/usr/bin/env python3
"""A shopper over plain HTTP, for smoke checks of a running shop (standard library only, so it runs anywhere).

It does what a person does: opens the home page, a product page and its photo, adds the product to the cart
through the page's own form, fills in the checkout form and lands on the order confirmation. It can also crawl
the pages linked from the home page (and the API's own links) and, given an admin login, the admin's pages,
failing on any server error, broken link or missing static file. Forms are filled from what the page offers
(hidden fields, the selected or first choice of each list), so new fields do not break it.

    python3 scripts/smoke_shopper.py --base http://127.0.0.1:8000 [--crawl 60] \
        [--admin-user admin --admin-password-env ADMIN_PASSWORD] [--behind-tls] \
        [--media-endpoint http://minio.localhost:9000 --media-via 127.0.0.1:9000]

Prints a JSON summary on stdout (order number, photo URL, pages visited); exits 1 with the reason on failure.
Used by scripts/compose_smoke.sh (against docker compose) and tests/ops/test_web_requirements.py (gunicorn).
"""
from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser

IMAGE_MAGIC = {b"\xff\xd8\xff": "jpeg", b"\x89PNG": "png", b"RIFF": "webp", b"GIF8": "gif"}
CHECKOUT_VALUES = {
    "email": "smoke-buyer@example.com", "full_name": "Smoke Tester", "name": "Smoke Tester",
    "address_line1": "1 Test Street", "address": "1 Test Street", "city": "Berlin", "postal_code": "10115",
    "country": "DE", "phone": "+49 30 1234567",
}


class SmokeFailure(Exception):
    pass


@dataclass
class Form:
    action: str
    method: str
    fields: list[dict] = field(default_factory=list)  # {"tag", "type", "name", "value", "checked", "options"}

    def names(self) -> set[str]:
        return {f["name"] for f in self.fields if f.get("name")}


class Page(HTMLParser):
    """Links, images, stylesheets/scripts and forms of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.images: list[dict] = []
        self.assets: list[str] = []
        self.forms: list[Form] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "img" and a.get("src"):
            self.images.append(a)
        elif tag == "link" and "stylesheet" in a.get("rel", "").split() and a.get("href"):
            self.assets.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.assets.append(a["src"])
        elif tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif self.forms and tag == "input":
            self.forms[-1].fields.append({"tag": "input", "type": a.get("type", "text").lower(),
                                          "name": a.get("name"), "value": a.get("value", ""),
                                          "checked": "checked" in a})
        elif self.forms and tag == "select":
            self._select = {"tag": "select", "name": a.get("name"), "options": []}
            self.forms[-1].fields.append(self._select)
        elif self._select is not None and tag == "option":
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self._select["options"].append(self._option)
        elif self.forms and tag == "textarea":
            self._textarea = {"tag": "textarea", "name": a.get("name"), "value": ""}
            self.forms[-1].fields.append(self._textarea)

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "option":
            self._option = None
        elif tag == "textarea":
            self._textarea = None


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def fill(form: Form, values: dict[str, str]) -> list[tuple[str, str]]:
    """The form's data as a browser would send it, with `values` typed into the fields of those names."""
    data: list[tuple[str, str]] = []
    radios: dict[str, list[dict]] = {}
    for f in form.fields:
        name = f.get("name")
        if not name:
            continue
        if f["tag"] == "select":  # an option without a value attribute sends its text
            options = [dict(o, value=o["text"].strip() if o["value"] is None else o["value"]) for o in f["options"]]
            wanted = values.get(name)
            chosen = (next((o for o in options if wanted is not None and o["value"] == wanted), None)
                      or next((o for o in options if o["selected"] and o["value"]), None)
                      or next((o for o in options if o["value"]), None))
            if chosen is not None:
                data.append((name, chosen["value"]))
        elif f["tag"] == "textarea":
            data.append((name, values.get(name, f["value"])))
        elif f["type"] == "radio":
            radios.setdefault(name, []).append(f)
        elif f["type"] == "checkbox":
            if f["checked"]:
                data.append((name, f["value"] or "on"))
        elif f["type"] in {"submit", "button", "image", "reset", "file"}:
            continue
        else:
            data.append((name, values.get(name, f["value"])))
    for name, group in radios.items():
        wanted = values.get(name)
        chosen = (next((r for r in group if r["value"] == wanted), None) or next((r for r in group if r["checked"]),
                  None) or group[0])
        data.append((name, chosen["value"]))
    return data


class TlsProxyCookies(http.cookiejar.DefaultCookiePolicy):
    """Behind a TLS proxy the shop marks its cookies Secure; the proxy's plain-HTTP side must still send them."""

    def return_ok_secure(self, cookie, request):
        return True


@dataclass
class Response:
    url: str
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path


class Shopper:
    def __init__(self, base: str, behind_tls: bool = False, timeout: float = 30):
        self.base = base.rstrip("/")
        self.origin = urllib.parse.urlsplit(self.base).netloc
        self.behind_tls = behind_tls
        self.timeout = timeout
        policy = TlsProxyCookies() if behind_tls else http.cookiejar.DefaultCookiePolicy()
        self.cookies = http.cookiejar.CookieJar(policy)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.visited = 0

    def url(self, href: str, page_url: str | None = None) -> str:
        return urllib.parse.urljoin(page_url or self.base + "/", href)

    def same_origin(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        return parts.scheme in {"http", "https"} and parts.netloc == self.origin

    def request(self, url: str, data: list[tuple[str, str]] | None = None, referer: str | None = None) -> Response:
        headers = {"User-Agent": "shop-smoke/1", "Accept": "text/html,application/json;q=0.9,*/*;q=0.8"}
        if self.behind_tls:
            headers["X-Forwarded-Proto"] = "https"
        if referer:  # Django checks the Referer of HTTPS form posts against the host
            parts = urllib.parse.urlsplit(referer)
            headers["Referer"] = urllib.parse.urlunsplit(("https" if self.behind_tls else parts.scheme,) + parts[1:])
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
        self.visited += 1
        try:
            with self.opener.open(req, timeout=self.timeout) as r:
                return Response(r.geturl(), r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.geturl(), e.code, e.headers, e.read())

    def get(self, href: str, expect: int | None = 200) -> Response:
        r = self.request(self.url(href))
        if expect is not None and r.status != expect:
            raise SmokeFailure(f"GET {href}: HTTP {r.status} (expected {expect})\n{r.text[:800]}")
        return r

    def submit(self, page: Response, form: Form, values: dict[str, str]) -> Response:
        target = self.url(form.action or page.url, page.url)
        r = self.request(target, fill(form, values), referer=page.url)
        if r.status >= 400:
            raise SmokeFailure(f"POST {target}: HTTP {r.status}\n{r.text[:800]}")
        return r

    # --- the shopper's path ------------------------------------------------------------------------------------
    def buy_something(self) -> dict:
        home = self.get("/")
        products = unique(self.url(h) for h in parse(home.text).links if re.match(r"^/p/[^/]+/", h))
        if not products:
            raise SmokeFailure("the home page links no product (is the shop seeded?)")
        for product_url in products[:12]:
            page = self.get(product_url)
            parsed = parse(page.text)
            form = next((f for f in parsed.forms if "/cart/add/" in f.action), None)
            photo = next((i for i in parsed.images if "/static/" not in i["src"]), None)
            if form is not None and photo is not None:
                break
        else:
            raise SmokeFailure("no product among the first 12 on the home page has a photo and an add-to-cart form")
        product_path = urllib.parse.urlsplit(product_url).path
        cart = self.submit(page, form, {"quantity": "1"})
        if cart.path.rstrip("/") != "/cart" or product_path not in cart.text:
            raise SmokeFailure(f"adding {product_path} to the cart did not show it in the cart (at {cart.url})")
        checkout = self.get("/checkout/")
        forms = [f for f in parse(checkout.text).forms if f.method == "post" and "email" in f.names()]
        if not forms:
            raise SmokeFailure("the checkout page has no form with an email field")
        confirmation = self.submit(checkout, forms[0], CHECKOUT_VALUES)
        m = re.search(r"/orders/([^/]+)/confirmation/?$", confirmation.path)
        if not m:
            errors = re.findall(r'class="[^"]*(?:invalid-feedback|errorlist|alert-danger)[^"]*"[^>]*>(.*?)<',
                                confirmation.text, re.S)
            raise SmokeFailure(f"checkout did not reach an order confirmation (at {confirmation.url}): "
                               f"{[e.strip() for e in errors if e.strip()][:5]}")
        number = urllib.parse.unquote(m.group(1))
        if number not in confirmation.text:
            raise SmokeFailure(f"the confirmation page does not show the order number {number}")
        return {"product": product_path, "photo_url": self.url(photo["src"], page.url), "order": number,
                "hsts": page.headers.get("Strict-Transport-Security")}

    def check_photo(self, photo_url: str, endpoint: str | None, via: str | None) -> dict:
        """Fetch the product photo from where the page points; with `endpoint`, it must be that S3 service."""
        parts = urllib.parse.urlsplit(photo_url)
        if endpoint is not None:
            want = urllib.parse.urlsplit(endpoint)
            if (parts.scheme, parts.netloc) != (want.scheme, want.netloc):
                raise SmokeFailure(f"the product photo is served from {parts.scheme}://{parts.netloc}, "
                                   f"not from the S3 endpoint {endpoint}")
        if via:
            host, _, port = via.rpartition(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
            conn.request("GET", urllib.parse.urlunsplit(("", "", parts.path, parts.query, "")),
                         headers={"Host": parts.netloc})
            r = conn.getresponse()
            status, ctype, body, server = r.status, r.getheader("Content-Type", ""), r.read(), r.getheader("Server")
            conn.close()
        else:
            r = self.request(photo_url)
            status, ctype, body, server = r.status, r.headers.get("Content-Type", ""), r.body, r.headers.get("Server")
        kind = next((k for magic, k in IMAGE_MAGIC.items() if body.startswith(magic)), None)
        if status != 200 or kind is None:
            raise SmokeFailure(f"product photo {photo_url}: HTTP {status}, {ctype}, {len(body)} bytes, not an image")
        return {"photo_status": status, "photo_type": kind, "photo_bytes": len(body), "photo_server": server}

    # --- crawling ----------------------------------------------------------------------------------------------
    def crawl(self, seeds: list[str], limit: int, allow=lambda url: True) -> dict:
        """GET same-origin pages breadth-first from `seeds`. A server error or a broken link (404...) fails; 401 and
        403 are pages that rightly refuse this visitor (the API's order list to an anonymous one)."""
        queue = deque((self.url(s), "(seed)") for s in seeds)
        seen: set[str] = {u for u, _ in queue}
        assets: set[str] = set()
        pages = 0
        while queue and pages < limit:
            url, source = queue.popleft()
            r = self.request(url)
            pages += 1
            if r.status >= 400 and r.status not in (401, 403):
                raise SmokeFailure(f"GET {url} (linked from {source}): HTTP {r.status}\n{r.text[:800]}")
            if r.status >= 400:
                continue
            if not self.same_origin(r.url):
                continue
            ctype = r.headers.get("Content-Type", "")
            if "html" in ctype:
                parsed = parse(r.text)
                hrefs = parsed.links
                assets.update(self.url(a, r.url) for a in parsed.assets if self.same_origin(self.url(a, r.url)))
            elif "json" in ctype:  # the API's own links (behind TLS they say https://)
                hrefs = [urllib.parse.urlsplit(s)._replace(scheme="", netloc="").geturl()
                         for s in json_strings(r.text) if urllib.parse.urlsplit(s).netloc == self.origin]
            else:
                hrefs = []
            for href in hrefs:
                link = urllib.parse.urldefrag(self.url(href, r.url)).url
                if self.same_origin(link) and link not in seen and allow(link) and "logout" not in link:
                    seen.add(link)
                    queue.append((link, r.url))
        for asset in sorted(assets):
            r = self.request(asset)
            if r.status != 200:
                raise SmokeFailure(f"static file {asset}: HTTP {r.status}")
        return {"pages": pages, "assets": len(assets)}

    def admin_login(self, username: str, password: str) -> None:
        page = self.get("/admin/login/?next=/admin/")
        form = next((f for f in parse(page.text).forms if "password" in f.names()), None)
        if form is None:
            raise SmokeFailure("the admin login page has no password form")
        r = self.submit(page, form, {"username": username, "password": password})
        if r.path.rstrip("/") != "/admin":
            raise SmokeFailure(f"admin login as {username} failed (at {r.url})")


def unique(items) -> list:
    return list(dict.fromkeys(items))


def json_strings(text: str) -> list[str]:
    out: list[str] = []

    def walk(value):
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    try:
        walk(json.loads(text))
    except ValueError:
        pass
    return out


API_SEEDS = ["/api/", "/api/products/", "/api/categories/", "/api/schema/", "/api/docs/"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the shop's address, e.g. http://127.0.0.1:8000")
    ap.add_argument("--behind-tls", action="store_true",
                    help="act as a TLS proxy would (X-Forwarded-Proto: https), so production's HTTPS settings hold")
    ap.add_argument("--media-endpoint", help="the S3 endpoint product photos must come from")
    ap.add_argument("--media-via", help="host:port to connect to for the photo instead of its URL's host")
    ap.add_argument("--crawl", type=int, default=0, help="also GET up to N pages linked from home and the API")
    ap.add_argument("--admin-user")
    ap.add_argument("--admin-password-env", default="ADMIN_PASSWORD",
                    help="environment variable holding the admin password (never on the command line)")
    ap.add_argument("--admin-crawl", type=int, default=40, help="admin pages to open after signing in")
    args = ap.parse_args(argv)

    shopper = Shopper(args.base, behind_tls=args.behind_tls)
    try:
        result = shopper.buy_something()
        result.update(shopper.check_photo(result["photo_url"], args.media_endpoint, args.media_via))
        print(f"order {result['order']} placed for {result['product']}; photo {result['photo_type']} "
              f"({result['photo_bytes']} bytes) from {urllib.parse.urlsplit(result['photo_url']).netloc}",
              file=sys.stderr)
        if args.crawl:
            result["crawl"] = Shopper(args.base, behind_tls=args.behind_tls).crawl(["/"] + API_SEEDS, args.crawl)
            print(f"crawled {result['crawl']['pages']} pages, {result['crawl']['assets']} static files",
                  file=sys.stderr)
        if args.admin_user:
            admin = Shopper(args.base, behind_tls=args.behind_tls)
            admin.admin_login(args.admin_user, os.environ[args.admin_password_env])
            result["admin_crawl"] = admin.crawl(
                ["/admin/"], args.admin_crawl, allow=lambda url: (lambda u: u.path.startswith("/admin/") and
                                                                  not u.query and "/delete/" not in u.path)(
                    urllib.parse.urlsplit(url)))
            print(f"admin: {result['admin_crawl']['pages']} pages opened", file=sys.stderr)
    except SmokeFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
