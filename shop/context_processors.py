from django.conf import settings

from .models import Category


def shop(request):
    def top_categories():
        return list(Category.objects.filter(parent=None).prefetch_related("children"))

    def cart_count():
        from .cart import get_cart

        cart = get_cart(request)
        if cart is None:
            return 0
        from django.db.models import Sum

        return cart.lines.aggregate(n=Sum("quantity"))["n"] or 0

    from django.utils.functional import SimpleLazyObject

    return {
        "shop_name": settings.SHOP_NAME,
        "currency": settings.SHOP_CURRENCY,
        "nav_categories": SimpleLazyObject(top_categories),
        "cart_count": SimpleLazyObject(cart_count),
    }
