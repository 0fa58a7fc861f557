from django.conf import settings
from django.db.models import Sum
from django.utils.functional import SimpleLazyObject

from .cart import get_cart
from .catalog import tree_for
from .pagecache import CSRF_HOLE, holes_wanted


def shop(request):
    """Shop name, policies, the navigation's categories and the cart badge (queried only when rendered)."""

    def cart_count():
        cart = get_cart(request)
        return (cart.lines.aggregate(n=Sum("quantity"))["n"] or 0) if cart else 0

    holes = {"csrf_token": CSRF_HOLE} if holes_wanted(request) else {}  # filled per request (shop.pagecache)
    return {
        **holes,
        "shop_name": settings.SHOP_NAME,
        "currency": settings.SHOP_CURRENCY,
        "return_days": settings.SHOP_RETURN_DAYS,
        "contact_email": settings.SHOP_CONTACT_EMAIL,
        "nav_categories": SimpleLazyObject(lambda: tree_for(request).top),
        "cart_count": SimpleLazyObject(cart_count),
    }
