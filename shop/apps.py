from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import cart, sessions, versions

        # A hook, not business logic: the merge itself lives in shop.cart.
        user_logged_in.connect(lambda sender, request, user, **kw: cart.merge_session_cart(request, user),
                               dispatch_uid="shop.merge_cart", weak=False)
        sessions.connect_signals()  # kept anonymous sessions drop when their cart changes (shop/sessions.py)
        versions.connect_signals()  # cached pages are keyed on change counters (shop/versions.py)
