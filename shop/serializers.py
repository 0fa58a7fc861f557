from django.conf import settings
from rest_framework import serializers

from . import pricing
from .models import CartLine, Category, Order, OrderLine, Product, ProductVariant


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)  # null: top level

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent", "description"]


class VariantSerializer(serializers.ModelSerializer):
    in_stock = serializers.BooleanField(read_only=True)

    class Meta:
        model = ProductVariant
        fields = ["id", "sku", "size", "colour", "label", "stock", "in_stock"]


class ProductSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    price_now = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True)
    variants = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "slug", "url", "category", "description", "price", "price_now", "stock",
                  "in_stock", "attributes", "images", "variants", "created_at"]

    def get_variants(self, obj) -> list[dict]:
        """Sizes and colours on sale (a product with variants is bought by variant: pass its id to the cart)."""
        return VariantSerializer(obj.sellable_variants(), many=True).data

    def get_price_now(self, obj) -> str:
        return str(pricing.unit_price(obj))

    def get_images(self, obj) -> list[dict]:
        return [{"url": i.image.url, "thumbnail": i.thumb_url, "alt": i.alt} for i in obj.images.all()]

    def get_url(self, obj) -> str:
        return obj.get_absolute_url()


class CartLineSerializer(serializers.ModelSerializer):
    product = ProductSerializer(read_only=True)
    variant = VariantSerializer(read_only=True, allow_null=True)

    class Meta:
        model = CartLine
        fields = ["product", "variant", "quantity"]


class CartWriteSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    variant_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                          help_text="Required for a product with variants")
    quantity = serializers.IntegerField(min_value=0, max_value=settings.SHOP_MAX_LINE_QUANTITY,
                                        help_text="0 removes the product; at most SHOP_MAX_LINE_QUANTITY")


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["sku", "name", "variant_label", "unit_price", "quantity"]


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["number", "status", "email", "currency", "subtotal", "shipping_method", "shipping_cost", "vat",
                  "total", "payment_method", "full_name",
                  "address_line1", "address_line2", "city", "postal_code", "country", "created_at", "lines"]


class ErrorSerializer(serializers.Serializer):
    """The body of an error answer (documented; never read from a request)."""

    detail = serializers.CharField()
