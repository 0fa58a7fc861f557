"""The shop's URLs plus /__bare__/<page>: the exact bytes of a real page, pre-rendered by the benchmark.

A bare view goes through the same middleware stack and gunicorn as the real page but does no query and no
template rendering, so page/bare says what the shop's own work costs above the framework's ceiling.
The benchmark writes <page>.html into BENCH_BARE_DIR before it requests /__bare__/<page>.
/__bare__/<page>?read=session also loads the visitor's session (the session engine's one statement: session and
cart lines) from the database, as a cart page does for a session this process has not read lately (shop.sessions:
SHOP_SESSION_CACHE_SECONDS): the ceiling for a page that reads it.
"""
import os
from pathlib import Path

from django.http import Http404, HttpResponse
from django.urls import path

from config.urls import urlpatterns as shop_urlpatterns

_cache: dict[str, bytes] = {}


def bare(request, page: str):
    body = _cache.get(page)
    if body is None:
        folder = Path(os.environ.get("BENCH_BARE_DIR", "/nonexistent"))
        file = folder / f"{page}.html"
        if not page.isidentifier() or not file.is_file():
            raise Http404(page)
        body = _cache[page] = file.read_bytes()
    if request.GET.get("read") == "session":
        request.session.recent_after = None  # from the database, not from the process's recent sessions
        request.session.get("_")  # forces the load
    return HttpResponse(body, content_type="text/html; charset=utf-8")


urlpatterns = [path("__bare__/<str:page>", bare, name="bench-bare"), *shop_urlpatterns]
