"""A customer sees only their own orders: in pages and in the API."""
from django.urls import reverse

from tests.conftest import ADDRESS


def test_customer_sees_own_orders_only(client, make_product, buy, user, other_user):
    p = make_product(stock=10)
    mine = buy({p: 1}, user=user)
    theirs = buy({p: 1}, user=other_user)
    client.force_login(user)
    body = client.get(reverse("shop:account")).content.decode()
    assert mine.number in body and theirs.number not in body
    assert client.get(mine.get_absolute_url()).status_code == 200
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assert client.post(reverse("shop:order_cancel", args=[theirs.number])).status_code == 404
    api = client.get("/api/orders/").json()
    assert [o["number"] for o in api["results"]] == [mine.number]
    assert client.get(f"/api/orders/{theirs.number}/").status_code == 404


def test_api_orders_need_login(client):
    assert client.get("/api/orders/").status_code in (401, 403)


def test_guest_checkout_then_follow_order(client, make_product):
    p = make_product(stock=3)
    client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 2})
    r = client.post(reverse("shop:checkout"), {**ADDRESS, "email": "guest@example.com", "payment_method": "cod"})
    assert r.status_code == 302 and "/confirmation/" in r["Location"]
    body = client.get(r["Location"]).content.decode()
    assert "Thank you" in body and p.name in body
    p.refresh_from_db()
    assert p.stock == 1
    number = r["Location"].split("/")[2]
    other = client.__class__()
    assert other.get(f"/orders/{number}/").status_code == 404  # another browser cannot read it
    client.post(reverse("shop:order_cancel", args=[number]))
    p.refresh_from_db()
    assert p.stock == 3


def test_checkout_form_errors_keep_the_cart(client, make_product):
    p = make_product(stock=3)
    client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 1})
    r = client.post(reverse("shop:checkout"), {**ADDRESS, "email": "not-an-email", "country": "Germany"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "Enter a valid email" in body and "We do not deliver to that country" in body
    p.refresh_from_db()
    assert p.stock == 3


def test_api_catalog_filters_and_search(client, make_product):
    from shop.models import Category

    cat = Category.objects.create(name="Lamps", slug="lamps")
    make_product(name="Desk Lamp", price="40.00", category=cat)
    make_product(name="Floor Lamp", price="90.00", category=cat, stock=0)
    make_product(name="Mug", price="9.00")
    r = client.get("/api/products/?category=lamps&max_price=50").json()
    assert [p["name"] for p in r["results"]] == ["Desk Lamp"]
    assert [p["name"] for p in client.get("/api/products/?in_stock=false").json()["results"]] == ["Floor Lamp"]
    assert [p["name"] for p in client.get("/api/products/?search=mug").json()["results"]] == ["Mug"]
    assert client.get("/api/schema/").status_code == 200


def test_api_cart_roundtrip(client, make_product):
    p = make_product(stock=2)
    r = client.post("/api/cart/", {"product_id": p.pk, "quantity": 3}, content_type="application/json")
    assert r.status_code == 400 and "Only 2" in r.json()["detail"]
    r = client.post("/api/cart/", {"product_id": p.pk, "quantity": 2}, content_type="application/json")
    assert r.status_code == 200 and r.json()[0]["quantity"] == 2
    assert client.get("/api/cart/").json()[0]["product"]["sku"] == p.sku
