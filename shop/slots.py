"""Slots: named places in shop pages that other apps fill, without `shop` importing them.

A shop template leaves a place with ``{% slot "home" %}`` (tag library ``shop_tags``). ``settings.SHOP_SLOTS`` maps
each slot name to a list of dotted paths of renderers; a renderer is a callable
``renderer(request, context) -> str`` that returns HTML it has rendered itself (from its own template, so its own
escaping applies) or ``""`` for nothing. Renderers are resolved once per process. Slot names used by the shop's
templates:

- ``head``: extra tags in <head> (stylesheets)
- ``home``: the front page, under the hero (``page_products``: ids of the products the page lists itself)
- ``product``: the product page, under the product (``product`` in the context)
- ``cart``: the cart page, under the lines (``cart`` and ``summary`` in the context)
- ``body_end``: the end of every page (widgets, scripts)

A renderer that raises never breaks the page: the error is logged and the slot stays empty (with DEBUG on it
propagates, so a developer sees it).

Pages kept by the page cache (shop/pagecache.py) call the renderers on every request, after the view, with a plain
dict as the context: ``request`` and the values the page handed its slots (``page_products`` on the home page,
``product`` on the product page, ``cart`` and ``summary`` on the cart page). A renderer whose output depends on nothing but settings (a stylesheet
link) may say so with the attribute ``page_cacheable = True``: it is then rendered once into the kept page.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString, mark_safe

log = logging.getLogger(__name__)

Renderer = Callable[..., str]


@lru_cache(maxsize=None)
def renderers(name: str) -> tuple[Renderer, ...]:
    return tuple(import_string(path) for path in getattr(settings, "SHOP_SLOTS", {}).get(name, ()))


def cacheable(name: str) -> bool:
    """Every renderer of this slot renders the same for everyone (``page_cacheable``): part of a kept page."""
    return all(getattr(r, "page_cacheable", False) for r in renderers(name))


def render(name: str, request, context) -> SafeString:
    parts = []
    for renderer in renderers(name):
        try:
            parts.append(renderer(request, context) or "")
        except Exception:
            if settings.DEBUG:
                raise
            log.exception("slot %s: renderer %s failed", name, getattr(renderer, "__qualname__", renderer))
    return mark_safe("".join(parts))  # each renderer escapes what it renders
