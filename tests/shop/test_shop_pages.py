"""Pages a real shop has: information pages in the footer, branded errors, password reset in the shop's look,
a favicon; and the cart's thumbnails, remove button, delivery estimate and totals."""
from decimal import Decimal
from importlib import import_module

import pytest
from django.contrib.flatpages.models import FlatPage
from django.core import mail
from django.test import RequestFactory

from shop import images, shipping
from shop.models import Cart, CartLine
from tests.conftest import png_bytes

SLUGS = ["shipping", "returns", "contact", "privacy", "terms"]


@pytest.fixture
def pages(db, django_db_setup):
    # The data migration made them; a transactional test before this one may have flushed them.
    if FlatPage.objects.count() < 5:
        from django.apps import apps

        import_module("shop.migrations.0006_shop_pages").create(apps, None)
    return FlatPage.objects.all()


def test_footer_links_every_shop_page_and_each_renders(client, pages):
    body = client.get("/").content.decode()
    footer = body[body.index('id="footer-pages"'):]
    for slug in SLUGS:
        assert f'href="/pages/{slug}/"' in footer
        page = client.get(f"/pages/{slug}/")
        assert page.status_code == 200 and 'class="navbar' in page.content.decode()


def test_pages_are_edited_in_the_admin_and_shown_as_edited(admin_client, pages):
    page = FlatPage.objects.get(url="/pages/returns/")
    r = admin_client.post(f"/admin/flatpages/flatpage/{page.pk}/change/", {
        "url": page.url, "title": "Returns", "content": "<p>Sixty days, no questions.</p>",
        "sites": [1], "template_name": "", "registration_required": ""})
    assert r.status_code == 302
    assert "Sixty days, no questions." in admin_client.get("/pages/returns/").content.decode()


def test_shipping_page_shows_the_live_rates_and_countries(client, pages, settings):
    settings.SHOP_SHIPPING_FLAT_RATE = Decimal("6.50")
    settings.SHOP_FREE_SHIPPING_OVER = Decimal("80.00")
    settings.SHOP_SHIP_TO_COUNTRIES = ["DE", "FR"]
    body = client.get("/pages/shipping/").content.decode()
    assert "6.50 EUR" in body and "80.00 EUR" in body and "France" in body and "Germany" in body
    assert "Italy" not in body


def test_footer_states_the_policies_from_settings(client, pages, settings):
    settings.SHOP_RETURN_DAYS = 14
    settings.SHOP_CONTACT_EMAIL = "help@shop.example"
    settings.SHOP_PRICES_INCLUDE_VAT = False
    body = client.get("/").content.decode()
    assert "within 14 days" in body and "help@shop.example" in body and "plus 19% VAT" in body


def test_404_is_branded(client, db):
    r = client.get("/no/such/page/")
    body = r.content.decode()
    assert r.status_code == 404 and "We could not find that page" in body and 'role="search"' in body


def test_500_is_branded_and_needs_no_database(db, settings):
    from config import urls
    from shop import views

    assert urls.handler500 == "shop.views.server_error"
    r = views.server_error(RequestFactory().get("/"))
    body = r.content.decode()
    assert r.status_code == 500 and settings.SHOP_NAME in body and "something went wrong" in body.lower()


def test_password_reset_is_in_the_shops_look_and_links_to_this_host(client, user, settings):
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    for url in ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/x/y/"]:
        body = client.get(url, follow=True).content.decode()
        assert "Django administration" not in body and 'class="navbar' in body, url
    r = client.post("/accounts/password_reset/", {"email": "alice@example.com"}, HTTP_HOST="shop.example.com")
    assert r.status_code == 302
    (message,) = mail.outbox
    assert "http://shop.example.com/accounts/reset/" in message.body and "Northwind Goods" in message.subject
    link = message.body.split("http://shop.example.com", 1)[1].split()[0]
    body = client.get(link, follow=True, HTTP_HOST="shop.example.com").content.decode()
    assert "Choose a new password" in body and 'class="navbar' in body


def test_favicon(client, db):
    assert 'rel="icon"' in client.get("/").content.decode()
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r["Location"].endswith("shop/favicon.svg")


# ------------------------------------------------------------------------------------------------------- cart
@pytest.fixture
def cart_with(client, make_product):
    def fill(*items):
        session = client.session
        cart = Cart.objects.create()
        session["cart_id"] = cart.pk
        session.save()
        for product, qty in items:
            CartLine.objects.create(cart=cart, product=product, quantity=qty)
        return cart

    return fill


def test_cart_shows_thumbnails_and_a_remove_button_that_removes(client, make_product, cart_with):
    p = make_product(name="Harbor Mug", price="12.00")
    images.add_product_image(p, png_bytes(), "mug.png")
    cart = cart_with((p, 2))
    body = client.get("/cart/").content.decode()
    assert p.images.get().thumbnail.url in body and 'aria-label="Remove Harbor Mug"' in body
    r = client.post(f"/cart/update/{p.pk}/", {"quantity": "0"})
    assert r.status_code == 302 and not cart.lines.exists()


def test_cart_estimates_delivery_and_totals(client, make_product, cart_with, settings):
    settings.SHOP_SHIPPING_FLAT_RATE = Decimal("4.90")
    settings.SHOP_FREE_SHIPPING_OVER = Decimal("50.00")
    p = make_product(price="20.00", stock=10)
    cart_with((p, 2))
    r = client.get("/cart/")
    t = r.context["cart_totals"]
    assert (t.subtotal, t.shipping, t.total) == (Decimal("40.00"), Decimal("4.90"), Decimal("44.90"))
    assert t.vat == Decimal("7.17")  # 19% included in 44.90
    body = r.content.decode()
    assert "44.90 EUR" in body and "Add 10.00 EUR more for free delivery" in body
    CartLine.objects.update(quantity=3)
    t = client.get("/cart/").context["cart_totals"]
    assert (t.shipping, t.total) == (Decimal("0.00"), Decimal("60.00"))


def test_prices_without_vat_add_it_to_the_total(client, make_product, cart_with, settings):
    settings.SHOP_PRICES_INCLUDE_VAT = False
    settings.SHOP_VAT_RATE = Decimal("20")
    settings.SHOP_FREE_SHIPPING_OVER = None
    p = make_product(price="100.00", stock=10)
    cart_with((p, 1))
    t = client.get("/cart/").context["cart_totals"]
    assert (t.shipping, t.vat, t.total) == (Decimal("4.90"), Decimal("20.98"), Decimal("125.88"))
    assert 'vat-amount">20.98 EUR' in client.get("/cart/").content.decode()


def test_shipping_methods(settings):
    settings.SHOP_SHIPPING_FLAT_RATE = Decimal("4.90")
    settings.SHOP_FREE_SHIPPING_OVER = Decimal("50.00")
    settings.SHOP_SHIP_TO_COUNTRIES = ["DE", "AT"]
    assert [q.code for q in shipping.quotes(Decimal("10"))] == ["standard"]
    assert [(q.code, q.cost) for q in shipping.quotes(Decimal("50"))] == [("free", Decimal("0.00")),
                                                                          ("standard", Decimal("4.90"))]
    assert shipping.quote("free", Decimal("60"), "at").cost == Decimal("0.00")
    with pytest.raises(shipping.ShippingError, match="not available"):
        shipping.quote("free", Decimal("49.99"), "DE")
    with pytest.raises(shipping.ShippingError, match="do not ship to France"):
        shipping.quote("standard", Decimal("10"), "FR")
    assert shipping.free_shipping_gap(Decimal("45")) == Decimal("5")
    settings.SHOP_FREE_SHIPPING_OVER = None
    assert [q.code for q in shipping.quotes(Decimal("1000"))] == ["standard"]
    assert shipping.free_shipping_gap(Decimal("45")) is None
