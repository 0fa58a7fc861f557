from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.flatpages import views as flatpage_views
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from shop import limits
from shop import views as shop_views

urlpatterns = [
    # The storefront first: its pages are most of the traffic, and Django tries the patterns in order. None of its
    # routes overlaps the ones below (accounts/signup/ is the shop's own under Django's accounts/).
    path("", include("shop.urls")),
    path("healthz", shop_views.healthz, name="healthz"),
    path("readyz", shop_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # Django's account views, with rate limits on the POSTs that hash a password or send an email (shop.limits).
    path("accounts/login/", limits.throttle_posts(limits.LoginThrottle)(auth_views.LoginView.as_view()),
         name="login"),
    path("accounts/password_reset/", limits.throttle_posts(limits.PasswordResetThrottle,
                                                           limits.PasswordResetEmailThrottle)(
        shop_views.PasswordResetView.as_view()), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/chat/", include("chatbot.urls")),
    path("api/", include("shop.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Shop information pages: flatpages whose URL is /pages/<slug>/ (the view gets the whole path).
    re_path(r"^(?P<url>pages/.+)$", flatpage_views.flatpage, name="shop-page"),
    path("favicon.ico", shop_views.favicon),
]

if not settings.MEDIA_ON_S3:
    # Media from the local folder, also with DEBUG off (embedded mode). On S3, URLs point at the bucket.
    urlpatterns.insert(0, re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))

handler404 = "shop.views.not_found"
handler500 = "shop.views.server_error"
