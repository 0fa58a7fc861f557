from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.html import format_html

from shop import pricing

register = template.Library()


@register.filter
def money(value):
    if value in (None, ""):
        return ""
    return f"{Decimal(value):,.2f} {settings.SHOP_CURRENCY}"


@register.simple_tag
def price_tag(product):
    now = pricing.unit_price(product)
    if now < product.price:
        return format_html('<span class="text-danger fw-bold">{}</span> <span class="price-old">{}</span> '
                           '<span class="badge text-bg-danger">-{}%</span>', money(now), money(product.price),
                           pricing.active_discount(product))
    return format_html("<span>{}</span>", money(now))
