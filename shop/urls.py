from django.urls import path

from . import views

app_name = "shop"
urlpatterns = [
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("p/<slug:slug>/", views.product, name="product"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart_view, name="cart"),
    path("cart/add/<int:product_id>/", views.cart_add, name="cart_add"),
    path("cart/update/<int:product_id>/", views.cart_update, name="cart_update"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<str:number>/confirmation/", views.order_confirmation, name="order_confirmation"),
    path("orders/<str:number>/", views.order_detail, name="order_detail"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="order_cancel"),
    path("account/", views.account, name="account"),
    path("accounts/signup/", views.signup, name="signup"),
]
