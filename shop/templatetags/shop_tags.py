from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from shop import pricing, shipping

register = template.Library()


@register.filter
def money(value):
    if value in (None, ""):
        return ""
    return pricing.format_money(value)


@register.simple_tag
def price_tag(product):
    now = pricing.unit_price(product)
    if now < product.price:
        return format_html('<span class="text-danger fw-bold">{}</span> <span class="price-old">{}</span> '
                           '<span class="badge text-bg-danger">-{}%</span>', money(now), money(product.price),
                           pricing.active_discount(product))
    return format_html("<span>{}</span>", money(now))


@register.simple_tag
def vat_note():
    """"incl. 19% VAT" or "plus 19% VAT", as the shop's settings say."""
    rate = f"{settings.SHOP_VAT_RATE.normalize():f}"
    return f"incl. {rate}% VAT" if settings.SHOP_PRICES_INCLUDE_VAT else f"plus {rate}% VAT"


@register.inclusion_tag("shop/_shipping_rates.html")
def shipping_rates():
    """The delivery options and countries, from the live settings (used by the shipping information page)."""
    return {"countries": shipping.ship_to_countries(),
            "free_over": settings.SHOP_FREE_SHIPPING_OVER, "flat_rate": settings.SHOP_SHIPPING_FLAT_RATE}


@register.simple_tag
def shop_pages(url: str = "/pages/"):
    """The shop's information pages under `url` (flatpages of this site, by URL), in one query. Unlike flatpages'
    own get_flatpages it needs no Site lookup: SITE_ID is the shop's site."""
    from django.contrib.flatpages.models import FlatPage

    return list(FlatPage.objects.filter(url__startswith=url, sites__id=settings.SITE_ID,
                                        registration_required=False).order_by("url").only("url", "title"))


@register.simple_tag(takes_context=True)
def slot(context, name):
    """A named place other apps fill (see shop/slots.py). In a page rendered for the page cache, a hole filled on
    each request (unless every renderer of the slot says its output is the same for everyone)."""
    from shop import pagecache, slots

    request = context.get("request")
    if request is not None and pagecache.holes_wanted(request) and not slots.cacheable(name):
        return pagecache.hole(f"slot:{name}")
    return slots.render(name, request, context)


@register.simple_tag(takes_context=True)
def visitor(context, part):
    """A part of the page that belongs to the visitor: "cart" (the cart link and count), "account" (log in, or the
    account and log out), "messages". A hole in a page rendered for the page cache (shop/pagecache.py)."""
    from shop import pagecache

    request = context.get("request")
    if request is not None and pagecache.holes_wanted(request):
        return pagecache.hole(part)
    return mark_safe(pagecache.VISITOR_PARTS[part](request))
