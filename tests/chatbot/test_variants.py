"""Sizes with their own stock: "do you have the hoodie in M?" and "which sizes are in stock?" are answered per
variant, from the database as it is when the question comes."""
import json

import pytest
from django.test import Client

from shop.models import ProductVariant

pytestmark = pytest.mark.django_db


def ask(client, message):
    r = client.post("/api/chat/", data=json.dumps({"message": message}), content_type="application/json")
    assert r.status_code == 200, r.content
    return r.json()


@pytest.fixture
def client():
    return Client()


def _variant(product, size):
    return ProductVariant.objects.get(product=product, size=size)


def test_one_size_is_answered_from_that_sizes_stock(client, chat_model, shop_catalog, hoodies):
    valley = hoodies["valley"]
    data = ask(client, "do you have the valley hoodie in M?")
    m = _variant(valley, "M")
    assert data["intent"] == "product_stock" and data["in_stock"] is True
    assert data["variant"] == {"sku": m.sku, "size": "M", "colour": "", "stock": 8, "in_stock": True}
    assert "in M is in stock (8 available)" in data["reply"]
    data = ask(client, "is the valley hoodie available in L?")
    assert data["in_stock"] is False and data["variant"]["sku"] == _variant(valley, "L").sku
    assert "in L is sold out" in data["reply"] and "Still in stock: S (2), M (8)." in data["reply"]
    # the next delivery arrives: the answer follows the database at once
    ProductVariant.objects.filter(pk=_variant(valley, "L").pk).update(stock=3)
    data = ask(client, "is the valley hoodie available in L?")
    assert data["in_stock"] is True and "only 3 left" in data["reply"]


def test_which_sizes_are_in_stock_lists_each_variant(client, chat_model, shop_catalog, hoodies):
    valley = hoodies["valley"]
    data = ask(client, "which sizes of the valley hoodie are in stock?")
    assert data["intent"] == "product_stock" and data["products"][0]["sku"] == valley.sku
    in_stock, _, sold_out = data["reply"].partition("Sold out:")
    for v in ProductVariant.objects.filter(product=valley):
        if v.stock > 0:
            assert f"{v.size} ({v.stock})" in in_stock
        else:
            assert v.size in sold_out.split(",")[0] or f" {v.size}" in sold_out
    assert [(v["size"], v["stock"]) for v in data["products"][0]["variants"]] == [
        ("XS", 0), ("S", 2), ("M", 8), ("L", 0)]


def test_sizes_come_from_the_variants(client, chat_model, shop_catalog, hoodies):
    data = ask(client, "what sizes does the valley hoodie come in?")
    assert data["attribute"] == {"name": "sizes", "value": "XS,S,M,L"}  # the product has no "sizes" attribute
    assert "XS, S, M, L" in data["reply"]
    data = ask(client, "does the valley hoodie come in XL?")
    assert data["attribute"]["match"] is False and data["reply"].startswith("No") and data["in_stock"] is False
    ProductVariant.objects.filter(pk=_variant(hoodies["valley"], "XS").pk).update(is_active=False)
    data = ask(client, "what sizes does the valley hoodie come in?")
    assert data["attribute"]["value"] == "S,M,L"  # a variant no longer sold is not offered


def test_which_one_then_keeps_the_size_asked_about(client, chat_model, shop_catalog, hoodies):
    data = ask(client, "do you have hoodies in M?")
    names = [p["name"] for p in data["products"]]
    assert set(names) == {"Valley Hoodie", "Ridge Hoodie"}
    assert names[0] == "Valley Hoodie"  # the one with M in stock first
    data = ask(client, "the ridge hoodie")
    assert data["products"][0]["name"] == "Ridge Hoodie"
    assert data["in_stock"] is False and "Ridge Hoodie in M is sold out" in data["reply"]
    assert "Still in stock: S (1)." in data["reply"]


def test_a_size_sold_out_everywhere_says_so(client, chat_model, shop_catalog, hoodies):
    ridge = hoodies["ridge"]
    ProductVariant.objects.filter(product=ridge).update(stock=0)
    ridge.stock = 0
    ridge.save(update_fields=["stock"])
    data = ask(client, "is the ridge hoodie in stock?")
    assert data["in_stock"] is False and "out of stock" in data["reply"]
