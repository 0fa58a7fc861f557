"""REST API: catalog (read-only), the caller's cart, and the caller's own orders."""
from __future__ import annotations

import django_filters
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from . import cart as carts
from .models import Category, Order, Product
from .search import search_products
from .serializers import CartLineSerializer, CartWriteSerializer, CategorySerializer, OrderSerializer, ProductSerializer


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Category.objects.select_related("parent")
    serializer_class = CategorySerializer
    lookup_field = "slug"
    pagination_class = None


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(method="filter_category")
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    in_stock = django_filters.BooleanFilter(method="filter_in_stock")

    class Meta:
        model = Product
        fields = ["category", "min_price", "max_price", "in_stock"]

    def filter_category(self, qs, name, value):
        return qs.filter(Q(category__slug=value) | Q(category__parent__slug=value))

    def filter_in_stock(self, qs, name, value):
        return qs.filter(stock__gt=0) if value else qs.filter(stock=0)


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_field = "slug"
    throttle_classes = [AnonRateThrottle, UserRateThrottle]

    def get_queryset(self):
        qs = Product.objects.for_listing().order_by("name", "pk")
        q = self.request.query_params.get("search")
        return search_products(q, qs) if q else qs


class CartViewSet(viewsets.ViewSet):
    """The caller's cart (session or user). GET lists it; POST sets a product's quantity (0 removes it)."""

    @extend_schema(responses=CartLineSerializer(many=True))
    def list(self, request):
        cart = carts.get_cart(request)
        lines = cart.lines.select_related("product", "product__category").prefetch_related("product__images") \
            if cart else []
        return Response(CartLineSerializer(lines, many=True).data)

    @extend_schema(request=CartWriteSerializer, responses=CartLineSerializer(many=True))
    def create(self, request):
        ser = CartWriteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        product = get_object_or_404(Product.objects.active(), pk=ser.validated_data["product_id"])
        try:
            carts.set_quantity(carts.get_cart(request, create=True), product, ser.validated_data["quantity"])
        except carts.CartError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return self.list(request)


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own orders only; another customer's order number answers 404."""

    serializer_class = OrderSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "number"

    def get_queryset(self):
        return Order.objects.filter(user=self.request.user).prefetch_related("lines")
