from django.conf import settings
from django.db.models import Sum
from django.utils.functional import SimpleLazyObject

from .cart import get_cart
from .models import Category


def shop(request):
    """Shop name, currency, the navigation's top categories and the cart badge (queried only when rendered)."""

    def cart_count():
        cart = get_cart(request)
        return (cart.lines.aggregate(n=Sum("quantity"))["n"] or 0) if cart else 0

    return {
        "shop_name": settings.SHOP_NAME,
        "currency": settings.SHOP_CURRENCY,
        "nav_categories": SimpleLazyObject(lambda: list(Category.objects.filter(parent=None))),
        "cart_count": SimpleLazyObject(cart_count),
    }
