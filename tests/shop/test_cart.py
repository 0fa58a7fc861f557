import pytest
from django.urls import reverse

from shop.models import Cart, Event


def test_add_to_cart_checks_stock(client, make_product):
    p = make_product(stock=2)
    r = client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 3}, follow=True)
    assert "Only 2" in r.content.decode()
    assert not Cart.objects.filter(lines__product=p).exists()
    client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 2})
    r = client.get(reverse("shop:cart"))
    assert p.name in r.content.decode()
    assert Event.objects.filter(kind="cart_add", product=p, quantity=2).exists()


def test_anonymous_cart_merges_into_user_cart_at_login(client, make_product, user):
    a, b = make_product(stock=5), make_product(stock=5)
    from shop.models import CartLine

    mine = Cart.objects.create(user=user)
    CartLine.objects.create(cart=mine, product=a, quantity=1)
    client.post(reverse("shop:cart_add", args=[a.pk]), {"quantity": 2})
    client.post(reverse("shop:cart_add", args=[b.pk]), {"quantity": 1})
    assert client.post(reverse("login"), {"username": "alice", "password": "s3cret-pass-123"}).status_code == 302
    lines = dict(Cart.objects.get(user=user).lines.values_list("product_id", "quantity"))
    assert lines == {a.pk: 3, b.pk: 1}
    assert Cart.objects.filter(user=None).count() == 0


def test_update_to_zero_removes_and_logs(client, make_product):
    p = make_product(stock=5)
    client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 2})
    client.post(reverse("shop:cart_update", args=[p.pk]), {"quantity": 0})
    assert "Your cart is empty" in client.get(reverse("shop:cart")).content.decode()
    assert Event.objects.filter(kind="cart_remove", product=p, quantity=2).exists()


def test_inactive_product_cannot_be_added(client, make_product):
    p = make_product(stock=5, is_active=False)
    assert client.post(reverse("shop:cart_add", args=[p.pk]), {"quantity": 1}).status_code == 404
