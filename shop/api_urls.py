from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("categories", api.CategoryViewSet, basename="category")
router.register("products", api.ProductViewSet, basename="product")
router.register("cart", api.CartViewSet, basename="cart")
router.register("orders", api.OrderViewSet, basename="order")
urlpatterns = router.urls
