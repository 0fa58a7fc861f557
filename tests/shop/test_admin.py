"""The merchant's admin: editable product list, attributes as rows, orders changed only through the state machine,
and an index that opens on today's figures."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop import dashboard, images
from shop.models import Order, OrderStatusChange, Product, StockOut
from tests.conftest import png_bytes


def _changelist_post(admin_client, products, changes):
    data = {"form-TOTAL_FORMS": str(len(products)), "form-INITIAL_FORMS": str(len(products)),
            "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000", "_save": "Save"}
    for i, p in enumerate(products):
        row = {"id": p.pk, "price": str(p.price), "stock": str(p.stock), "is_active": "on" if p.is_active else ""}
        row.update(changes.get(p.pk, {}))
        for k, v in row.items():
            if v != "":
                data[f"form-{i}-{k}"] = v
    return admin_client.post("/admin/shop/product/", data)


def test_product_list_has_thumbnails_and_edits_stock_price_and_active_in_place(admin_client, make_product):
    a, b = make_product(name="Alpha", stock=3), make_product(name="Beta", stock=0)
    images.add_product_image(a, png_bytes(), "a.png")
    body = admin_client.get("/admin/shop/product/").content.decode()
    assert a.images.get().thumbnail.url in body
    r = _changelist_post(admin_client, [a, b], {a.pk: {"stock": "0", "price": "12.50"},
                                                b.pk: {"stock": "7", "is_active": ""}})
    assert r.status_code == 302
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.stock, a.price, b.stock, b.is_active) == (0, Decimal("12.50"), 7, False)
    assert StockOut.objects.filter(product=a, ended_at=None).exists()  # through the stock service


def test_product_list_query_count_is_constant(admin_client, make_product):
    def count():
        admin_client.get("/admin/shop/product/")
        with CaptureQueriesContext(connection) as ctx:
            admin_client.get("/admin/shop/product/")
        return len(ctx)

    for _ in range(2):
        images.add_product_image(make_product(), png_bytes(), "p.png")
    few = count()
    for _ in range(10):
        images.add_product_image(make_product(), png_bytes(), "p.png")
    assert count() == few


def _product_form(p, **extra):
    data = {"category": p.category_id, "name": p.name, "slug": p.slug, "sku": p.sku, "description": p.description,
            "price": str(p.price), "stock": str(p.stock), "is_active": "on", "created_at_0": "2026-01-01",
            "created_at_1": "10:00:00"}
    for prefix in ("images", "promotions", "variants"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
                     f"{prefix}-MAX_NUM_FORMS": "1000"})
    data.update(extra)
    return data


def test_attributes_are_edited_as_name_value_rows(admin_client, make_product):
    p = make_product(attributes={"colour": "blue", "material": "cotton"})
    body = admin_client.get(f"/admin/shop/product/{p.pk}/change/").content.decode()
    assert 'name="attributes_key" value="colour"' in body and 'name="attributes_value" value="blue"' in body
    data = _product_form(p, attributes_key=["colour", "", "size"], attributes_value=["red", "", "M"])
    r = admin_client.post(f"/admin/shop/product/{p.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    p.refresh_from_db()
    assert p.attributes == {"colour": "red", "size": "M"}
    data.update(attributes_key=["colour", "colour"], attributes_value=["red", "blue"])
    r = admin_client.post(f"/admin/shop/product/{p.pk}/change/", data)
    assert r.status_code == 200 and "appears twice" in r.content.decode()


@pytest.fixture
def order(buy, make_product):
    p = make_product(name="Harbor Lamp", price="25.00", stock=5)
    return buy({p: 2}), p


def test_order_page_shows_read_only_lines_and_history_with_human_labels(admin_client, order):
    o, p = order
    body = admin_client.get(f"/admin/shop/order/{o.pk}/change/").content.decode()
    assert "OrderLine object" not in body and "OrderStatusChange object" not in body
    assert "Harbor Lamp" in body and "50.00 EUR" in body and "Pending" in body
    assert 'name="lines-0-quantity"' not in body and 'name="status_changes-0-to_status"' not in body


def test_posting_the_order_form_cannot_add_or_change_lines_or_history(admin_client, order):
    o, p = order
    line = o.lines.get()
    data = {"full_name": "Alice Example", "address_line1": "1 Main St", "address_line2": "", "postal_code": "10115",
            "city": "Berlin", "country": "DE",
            "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "1", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000", "lines-0-id": line.pk, "lines-0-order": o.pk, "lines-0-quantity": "9",
            "lines-1-order": o.pk, "lines-1-sku": "X", "lines-1-name": "Free thing", "lines-1-quantity": "1",
            "lines-1-unit_price": "0",
            "status_changes-TOTAL_FORMS": "1", "status_changes-INITIAL_FORMS": "0",
            "status_changes-MIN_NUM_FORMS": "0", "status_changes-MAX_NUM_FORMS": "1000",
            "status_changes-0-order": o.pk, "status_changes-0-to_status": "delivered"}
    admin_client.post(f"/admin/shop/order/{o.pk}/change/", data)
    o.refresh_from_db()
    assert list(o.lines.values_list("quantity", flat=True)) == [2] and o.status == "pending"
    assert not o.status_changes.filter(to_status="delivered").exists()


def test_transition_buttons_are_the_allowed_ones_and_go_through_the_state_machine(admin_client, order):
    o, p = order
    body = admin_client.get(f"/admin/shop/order/{o.pk}/change/").content.decode()
    buttons = body[body.index('id="order-transitions"'):body.index("</div>", body.index('id="order-transitions"'))]
    assert 'value="paid"' in buttons and 'value="cancelled"' in buttons and 'value="shipped"' not in buttons
    url = f"/admin/shop/order/{o.pk}/transition/"
    assert admin_client.get(url).status_code == 405
    r = admin_client.post(url, {"to": "shipped"}, follow=True)  # not allowed from pending
    o.refresh_from_db()
    assert o.status == "pending" and "cannot become shipped" in r.content.decode()
    admin_client.post(url, {"to": "cancelled"})
    o.refresh_from_db(), p.refresh_from_db()
    assert o.status == "cancelled" and p.stock == 5  # stock given back
    change = OrderStatusChange.objects.filter(order=o).last()
    assert change.to_status == "cancelled" and change.by.username == "admin"
    body = admin_client.get(f"/admin/shop/order/{o.pk}/change/").content.decode()
    assert 'id="order-transitions"' not in body and 'id="order-final"' in body


def test_orders_cannot_be_deleted_or_added(admin_client, order):
    o, _ = order
    assert admin_client.get(f"/admin/shop/order/{o.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/shop/order/add/").status_code == 403
    body = admin_client.get("/admin/shop/order/").content.decode()
    assert "delete_selected" not in body
    assert o.number in body and "Alice Example" in body and "50.00 EUR" in body and "Pending" in body


def test_staff_without_change_permission_cannot_transition(client, order, django_user_model):
    from django.contrib.auth.models import Permission

    o, _ = order
    clerk = django_user_model.objects.create_user("clerk", "c@example.com", "pw-123456-x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)
    assert client.post(f"/admin/shop/order/{o.pk}/transition/", {"to": "cancelled"}).status_code == 403
    o.refresh_from_db()
    assert o.status == "pending"


def test_admin_index_opens_on_today_low_stock_and_dashboards(admin_client, buy, make_product, settings):
    settings.SHOP_LOW_STOCK = 2
    low = make_product(name="Nearly Gone", stock=3, price="10.00")
    make_product(name="Plenty", stock=50)
    buy({low: 2})
    cancelled = buy({make_product(stock=5, price="99.00"): 1})
    Order.objects.filter(pk=cancelled.pk).update(status="cancelled")
    registered = dict(dashboard._LINKS)  # the apps' own links (their AppConfig.ready)
    dashboard.register_link("Test forecast", "/admin/forecast/", "45-day forecast")
    dashboard.register_link("Not installed", "no-such:view")
    dashboard.register_link("Secret", "/admin/secret/", permission="nobody.can_see")
    try:
        body = admin_client.get("/admin/").content.decode()
    finally:
        dashboard._LINKS.clear()
        dashboard._LINKS.update(registered)
    panel = body[body.index('id="shop-dashboard"'):]
    assert ">1</a>" in panel[panel.index('id="orders-today"'):][:200]
    # 20.00 + delivery; the cancelled order is not revenue
    assert "24.90 EUR" in panel[panel.index('id="revenue-today"'):][:200]
    assert "Nearly Gone" in panel and "Plenty" not in panel
    assert 'href="/admin/forecast/"' in panel and "Not installed" not in panel
    assert "Secret" in panel  # a superuser has every permission
