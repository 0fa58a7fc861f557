"""REST API: catalog (read-only), the caller's cart, and the caller's own orders."""
from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response

from . import cart as carts
from . import limits
from .models import Category, Order, Product, ProductVariant
from .search import search_products
from .serializers import (CartLineSerializer, CartWriteSerializer, CategorySerializer, ErrorSerializer, OrderSerializer,
                          ProductSerializer)


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Category.objects.select_related("parent")
    serializer_class = CategorySerializer
    lookup_field = "slug"
    pagination_class = None


# Query parameters that are present must be valid: `?min_price=` or `?in_stock=maybe` is a 400 naming the
# parameter, not silently "no filter". Absent parameters filter nothing.
class _PresentMeansValid:
    empty_values = [None]


class StrictDecimalField(_PresentMeansValid, forms.DecimalField):
    pass


class StrictBooleanField(_PresentMeansValid, forms.TypedChoiceField):
    def __init__(self, **kwargs):
        kwargs.update(choices=[("true", "true"), ("false", "false")], coerce=lambda v: v == "true")
        super().__init__(**kwargs)

    def to_python(self, value):
        return None if value is None else str(value)

    def validate(self, value):
        if value is not None and not self.valid_value(value):
            raise forms.ValidationError(f"Use true or false, not {value!r}.", code="invalid_choice")


class StrictNumberFilter(django_filters.NumberFilter):
    field_class = StrictDecimalField


class StrictBooleanFilter(django_filters.ChoiceFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        super().__init__(*args, **kwargs)


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(method="filter_category")
    min_price = StrictNumberFilter(field_name="price", lookup_expr="gte")
    max_price = StrictNumberFilter(field_name="price", lookup_expr="lte")
    in_stock = StrictBooleanFilter(method="filter_in_stock")

    class Meta:
        model = Product
        fields = ["category", "min_price", "max_price", "in_stock"]

    def filter_category(self, qs, name, value):
        return qs.filter(Q(category__slug=value) | Q(category__parent__slug=value))

    def filter_in_stock(self, qs, name, value):
        return qs.filter(stock__gt=0) if value else qs.filter(stock=0)


PRICE_BOUND = {"type": "number", "maximum": 1e50}  # django-filter refuses larger numbers (a 400)


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("min_price", PRICE_BOUND, description="Price at least this"),
    OpenApiParameter("max_price", PRICE_BOUND, description="Price at most this"),
]))
class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_field = "slug"

    def get_queryset(self):
        qs = Product.objects.for_listing().order_by("name", "pk")
        q = self.request.query_params.get("search")
        return search_products(q, qs) if q else qs


class CartViewSet(viewsets.ViewSet):
    """The caller's cart (session or user). GET lists it; POST sets a product's (or a variant's: variant_id)
    quantity, 0 removes it."""

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "create":  # each cookieless POST may create a cart and a session: counted per address
            throttles.append(limits.CartThrottle())
        return throttles

    @extend_schema(responses=CartLineSerializer(many=True))
    def list(self, request, format=None):  # noqa: A002 - the router's format suffix (/api/cart.json)
        cart = carts.get_cart(request)
        lines = cart.lines.select_related("product", "product__category", "variant").prefetch_related(
            "product__images", Prefetch("product__variants", queryset=ProductVariant.objects.filter(is_active=True),
                                        to_attr="active_variants")) if cart else []
        return Response(CartLineSerializer(lines, many=True).data)

    @extend_schema(request=CartWriteSerializer, responses={
        200: CartLineSerializer(many=True),
        404: OpenApiResponse(ErrorSerializer, description="No such product (or size of it) on sale")})
    def create(self, request, format=None):  # noqa: A002
        ser = CartWriteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        product = get_object_or_404(Product.objects.active(), pk=ser.validated_data["product_id"])
        variant_id = ser.validated_data.get("variant_id")
        if variant_id is not None:  # a size of another product, or one not sold: like an unknown product
            get_object_or_404(ProductVariant.objects.filter(product=product, is_active=True), pk=variant_id)
        quantity = ser.validated_data["quantity"]
        cart = carts.get_cart(request, create=quantity > 0)  # removing from no cart creates none
        if cart is None:
            return self.list(request)
        try:
            variant = carts.resolve_variant(product, ser.validated_data.get("variant_id"))
            carts.set_quantity(cart, product, quantity, variant)
        except carts.CartError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return self.list(request)


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own orders only; another customer's order number answers 404."""

    serializer_class = OrderSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "number"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation runs without a real user
            return Order.objects.none()
        return Order.objects.filter(user=self.request.user).prefetch_related("lines")
