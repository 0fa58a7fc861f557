"""The chat widget in every shop page, through the shop's slots (settings.SHOP_SLOTS: "head", "body_end")."""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe


def stylesheet(request, context) -> str:
    return render_to_string("chatbot/head.html", {}, request=None)


stylesheet.page_cacheable = True  # the same for every visitor: part of pages the shop keeps (shop/slots.py)


def widget(request, context) -> str:
    if request is None:
        return ""
    before, after = _widget_around_token(settings.CHATBOT_MAX_MESSAGE_CHARS, settings.SHOP_NAME)
    token = (context.get("csrf_token") if context is not None else None) or get_token(request)
    return mark_safe(before + escape(str(token)) + after)  # the page's token (a new one sets the CSRF cookie)


@lru_cache(maxsize=4)
def _widget_around_token(max_chars: int, shop_name: str) -> tuple[str, str]:
    """The widget rendered once per process, cut where the visitor's CSRF token goes (it is on every page)."""
    mark = "chatbot-csrf-token-goes-here"
    html = render_to_string("chatbot/widget.html", {
        "csrf_token_value": mark, "max_chars": max_chars, "shop_name": shop_name}, request=None)
    before, found, after = html.partition(mark)
    assert found, "chatbot/widget.html has no place for the CSRF token"
    return before, after
