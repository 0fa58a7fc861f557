from rest_framework import serializers

from . import pricing
from .models import CartLine, Category, Order, OrderLine, Product


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent", "description"]


class ProductSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    price_now = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True)

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "slug", "url", "category", "description", "price", "price_now", "stock",
                  "in_stock", "attributes", "images", "created_at"]

    def get_price_now(self, obj) -> str:
        return str(pricing.unit_price(obj))

    def get_images(self, obj) -> list[dict]:
        return [{"url": i.image.url, "thumbnail": i.thumb_url, "alt": i.alt} for i in obj.images.all()]

    def get_url(self, obj) -> str:
        return obj.get_absolute_url()


class CartLineSerializer(serializers.ModelSerializer):
    product = ProductSerializer(read_only=True)

    class Meta:
        model = CartLine
        fields = ["product", "quantity"]


class CartWriteSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=0, max_value=999)


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["sku", "name", "unit_price", "quantity"]


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["number", "status", "email", "currency", "total", "payment_method", "full_name",
                  "address_line1", "address_line2", "city", "postal_code", "country", "created_at", "lines"]
