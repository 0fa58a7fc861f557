from django.core import mail


def test_signup_login_logout_and_password_reset(client, db, django_user_model):
    r = client.post("/accounts/signup/", {"username": "erin", "email": "erin@example.com",
                                          "password1": "Very-long-pass-42", "password2": "Very-long-pass-42"})
    assert r.status_code == 302
    assert client.get("/account/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/account/").status_code == 302  # login required
    r = client.post("/accounts/signup/", {"username": "erin2", "email": "ERIN@example.com",
                                          "password1": "Very-long-pass-42", "password2": "Very-long-pass-42"})
    assert "An account with this email exists" in r.content.decode()
    assert client.post("/accounts/password_reset/", {"email": "erin@example.com"}).status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


def test_admin_is_staff_only(client, user):
    assert client.get("/admin/shop/order/").status_code == 302
    client.force_login(user)
    assert client.get("/admin/shop/order/").status_code == 302  # logged in, but not staff
    user.is_staff = user.is_superuser = True
    user.save()
    assert client.get("/admin/shop/order/").status_code == 200


def test_admin_stock_change_closes_the_stock_out(client, make_product, admin_user):
    from shop import stock
    from shop.models import StockOut

    p = make_product(stock=1)
    stock.set_stock(p, 0)
    assert StockOut.objects.filter(product=p, ended_at=None).exists()
    client.force_login(admin_user)
    data = {"name": p.name, "slug": p.slug, "sku": p.sku, "category": p.category_id, "description": p.description,
            "price": "10.00", "stock": "7", "attributes": "{}", "is_active": "on",
            "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0", "promotions-TOTAL_FORMS": "0",
            "promotions-INITIAL_FORMS": "0", "variants-TOTAL_FORMS": "0", "variants-INITIAL_FORMS": "0"}
    r = client.post(f"/admin/shop/product/{p.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    p.refresh_from_db()
    assert p.stock == 7 and not StockOut.objects.filter(product=p, ended_at=None).exists()
