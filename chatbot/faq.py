"""FAQ answers: plain text with {placeholders} filled from the shop's settings and shipping methods when the
answer is given, so an answer never drifts from what the shop actually does (shipping rates, return days, contact
address...). An entry may name one of the shop's own pages (a flatpage such as /pages/returns/): where that page
exists the reply links to it, and ``{page_intro}`` quotes its first paragraph (the page's own words, so the two
cannot disagree); where it does not, ``{page_intro}`` is empty and no link is shown."""
from __future__ import annotations

import string

from django.core.exceptions import ValidationError

from shop import assistant
from shop.pricing import format_money

PLACEHOLDERS = ("shop_name", "currency", "shipping_flat_rate", "free_shipping_over", "shipping_options", "vat_rate",
                "return_days", "contact_email", "ship_to_countries", "payment_methods", "max_line_quantity",
                "free_shipping", "vat", "page_intro")


def _facts() -> dict:
    f = assistant.shop_facts()
    threshold = f["free_shipping_over"]
    # the checkout's rule: free from the threshold on (shop.shipping.FreeOverThreshold), not only above it
    f["free_shipping"] = (f"Delivery is free on orders of {format_money(threshold.split()[0])} or more."
                          if threshold else "")
    f["vat"] = (f"Prices include {f['vat_rate']}% VAT." if f["prices_include_vat"]
                else f"Prices do not include VAT ({f['vat_rate']}%), which is added at checkout.")
    return f


def check_answer(text: str) -> None:
    """A ValidationError naming any unknown or malformed placeholder."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise ValidationError({"answer": f"Malformed placeholder ({exc}); write {{{{ and }}}} for braces."})
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        raise ValidationError({"answer": f"Unknown placeholder(s) {unknown}; known: {', '.join(PLACEHOLDERS)}"})


def check_page(url: str) -> str:
    """A page reference as stored: a path on this site ("/pages/returns/"), or empty."""
    url = (url or "").strip()
    if url and (not url.startswith("/") or url.startswith("//") or " " in url):
        raise ValidationError({"page": "Give the page's path on this site, like /pages/returns/ (or leave it empty)."})
    if url and not url.endswith("/"):
        url += "/"
    return url


def render(text: str, page: assistant.ShopPage | None = None) -> str:
    facts = _facts()
    facts["page_intro"] = page.intro if page is not None else ""
    try:
        out = string.Formatter().vformat(text, (), {k: facts.get(k, "") for k in PLACEHOLDERS})
    except (ValueError, KeyError, IndexError):  # an answer saved before validation: show it as written
        out = text
    return " ".join(out.split())
