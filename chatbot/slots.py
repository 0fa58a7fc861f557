"""The chat widget in every shop page, through the shop's slots (settings.SHOP_SLOTS: "head", "body_end").

Both are the same for every visitor, so the shop keeps them inside its cached pages (``page_cacheable``). The widget
carries no CSRF token: its script takes the token from the ``csrftoken`` cookie, or asks the chat API for one
(``GET /api/chat/``) the first time it needs it (shop pages without a form then stay free of a per-visitor token).
"""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe


def stylesheet(request, context) -> str:
    return render_to_string("chatbot/head.html", {}, request=None)


def widget(request, context) -> str:
    if request is None:  # a page rendered outside a request (an error page without context): no chat
        return ""
    return mark_safe(_widget(settings.CHATBOT_MAX_MESSAGE_CHARS, settings.SHOP_NAME))


@lru_cache(maxsize=4)
def _widget(max_chars: int, shop_name: str) -> str:
    """Rendered once per process (per setting values)."""
    return render_to_string("chatbot/widget.html", {"max_chars": max_chars, "shop_name": shop_name}, request=None)


stylesheet.page_cacheable = True  # the same for every visitor: part of pages the shop keeps (shop/slots.py)
widget.page_cacheable = True
