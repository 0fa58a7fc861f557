from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from shop import views as shop_views

urlpatterns = [
    path("healthz", shop_views.healthz, name="healthz"),
    path("readyz", shop_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("shop.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("shop.urls")),
]

if not settings.MEDIA_ON_S3:
    # Media from the local folder, also with DEBUG off (embedded mode). On S3, URLs point at the bucket.
    urlpatterns.insert(0, re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
