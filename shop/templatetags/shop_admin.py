from django import template

from shop import dashboard

register = template.Library()


@register.inclusion_tag("admin/shop/_dashboard.html", takes_context=True)
def shop_dashboard(context):
    """The admin index's first panel (shop/dashboard.py)."""
    request = context["request"]
    return {"d": dashboard.summary(request.user), "can_view_orders": request.user.has_perm("shop.view_order"),
            "can_change_products": request.user.has_perm("shop.change_product")}
