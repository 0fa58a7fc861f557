"""shop.assistant: the only door the chat assistant has into the shop."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import assistant
from shop.models import Category, Order, Product, Promotion, StockOut

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(make_product):
    mugs = Category.objects.create(name="Mugs", slug="mugs-a")
    today = timezone.localdate()
    red = make_product("Red Mug", price="30.00", stock=5, category=mugs, attributes={"colour": "red", "sizes": "S,M"})
    Promotion.objects.create(product=red, starts_on=today, ends_on=today + timedelta(days=3), discount_percent=40)
    blue = make_product("Blue Mug", price="18.00", stock=0, category=mugs, attributes={"colour": "blue",
                                                                                      "sizes": "XS,XL"})
    StockOut.objects.create(product=blue, started_at=timezone.now() - timedelta(days=2))
    make_product("Old Mug", price="5.00", category=mugs, is_active=False)
    return red, blue


def test_facts_carry_todays_price_and_stockout(catalog):
    red, blue = catalog
    facts = {f.name: f for f in assistant.product_facts([blue.pk, red.pk])}
    assert facts["Red Mug"].price == Decimal("18.00") and facts["Red Mug"].list_price == Decimal("30.00")
    assert facts["Red Mug"].discount_percent == 40 and facts["Red Mug"].in_stock
    assert not facts["Blue Mug"].in_stock and facts["Blue Mug"].out_of_stock_since is not None
    assert [f.name for f in assistant.product_facts([blue.pk, red.pk])] == ["Blue Mug", "Red Mug"]


def test_catalog_entries_are_active_products_only(catalog):
    names = {e.name for e in assistant.catalog_entries()}
    assert names == {"Red Mug", "Blue Mug"}
    before = assistant.catalog_version()
    Product.objects.filter(name="Blue Mug").update(name="Navy Mug", updated_at=timezone.now())
    assert assistant.catalog_version() != before


def test_find_filters_on_todays_price_and_list_attributes(catalog):
    found, total = assistant.find_products(max_price=Decimal("20"))
    assert {p.name for p in found} == {"Red Mug", "Blue Mug"}  # the red one is 18.00 today
    found, _ = assistant.find_products(max_price=Decimal("17.99"))
    assert found == []
    found, _ = assistant.find_products(attributes={"sizes": "S"})
    assert [p.name for p in found] == ["Red Mug"]  # "S" is not "XS"
    found, _ = assistant.find_products(category="mugs", attributes={"colour": "BLUE"})
    assert [p.name for p in found] == ["Blue Mug"]
    found, total = assistant.find_products("mug", limit=1)
    assert total == 2 and found[0].name == "Red Mug"  # in stock first


def test_reads_are_a_constant_number_of_queries(make_product):
    cat = Category.objects.create(name="Lamps", slug="lamps-a")
    ids = [make_product(f"Lamp {k}", category=cat).pk for k in range(12)]
    with CaptureQueriesContext(connection) as few:
        assistant.product_facts(ids[:2])
    with CaptureQueriesContext(connection) as many:
        assistant.product_facts(ids)
    assert len(many) == len(few)
    assert len(few) == 1
    with CaptureQueriesContext(connection) as q:
        assistant.find_products("lamp", limit=10)
    with CaptureQueriesContext(connection) as q2:
        assistant.find_products("lamp", limit=2)
    assert len(q) == len(q2) <= 3  # how many match, which ones, their facts


def test_orders_are_only_the_callers(make_product, buy, user, other_user):
    p = make_product(stock=5)
    mine = buy({p: 1}, user=user)
    theirs = buy({p: 1}, user=other_user)
    guest = buy({p: 1})
    assert assistant.own_order(mine.number, user).number == mine.number
    assert assistant.own_order(theirs.number, user) is None
    assert assistant.own_order("NOPE-123456", user) is None
    assert assistant.own_order(guest.number, None, [guest.number]).status == "pending"
    assert assistant.own_order(guest.number, None, []) is None
    assert [o.number for o in assistant.own_orders(user)] == [mine.number]
    with pytest.raises(assistant.OrderNotFound):
        assistant.cancel_own_order(theirs.number, user)
    assert Order.objects.get(pk=theirs.pk).status == "pending"


def test_cancel_goes_through_the_state_machine_and_only_when_pending(make_product, buy, user):
    p = make_product(stock=5)
    order = buy({p: 2}, user=user)
    assert Product.objects.get(pk=p.pk).stock == 3
    done = assistant.cancel_own_order(order.number, user)
    assert done.status == "cancelled" and Product.objects.get(pk=p.pk).stock == 5
    assert Order.objects.get(pk=order.pk).status_changes.last().note.startswith("cancelled by customer")
    paid = buy({p: 1}, user=user)
    Order.objects.filter(pk=paid.pk).update(status="paid")
    with pytest.raises(assistant.CannotCancel, match="paid"):
        assistant.cancel_own_order(paid.number, user)


def test_shop_facts_follow_the_settings(settings):
    settings.SHOP_RETURN_DAYS = 14
    settings.SHOP_FREE_SHIPPING_OVER = None  # as env_decimal(allow_empty) gives it
    settings.SHOP_CONTACT_EMAIL = "help@example.com"
    f = assistant.shop_facts()
    assert f["return_days"] == 14 and f["free_shipping_over"] == "" and f["contact_email"] == "help@example.com"
    assert f["payment_methods"] == "Pay on delivery"


def test_facts_carry_the_active_variants_and_the_first_photo_in_one_query(make_product):
    from shop import images
    from shop.models import ProductVariant
    from tests.conftest import png_bytes

    p = make_product("Fjord Hoodie", price="40.00", stock=3, attributes={"colour": "blue"})
    ProductVariant.objects.create(product=p, sku="FH-M", size="M", stock=3, position=1)
    ProductVariant.objects.create(product=p, sku="FH-S", size="S", stock=0, position=0)
    ProductVariant.objects.create(product=p, sku="FH-L", size="L", stock=4, position=2, is_active=False)
    second = images.add_product_image(p, png_bytes((0, 0, 200)), "back.png", position=2)
    first = images.add_product_image(p, png_bytes(), "front.png", position=1)
    with CaptureQueriesContext(connection) as q:
        (f,) = assistant.product_facts([p.pk])
    assert len(q) == 1
    assert [(v.sku, v.size, v.stock, v.in_stock) for v in f.variants] == [("FH-S", "S", 0, False),
                                                                          ("FH-M", "M", 3, True)]
    assert f.image_url == first.thumb_url != second.thumb_url
    assert f.url == p.get_absolute_url() and f.category == p.category.name and f.price == Decimal("40.00")
    plain = make_product("Plain Mug", stock=2)
    (g,) = assistant.product_facts([plain.pk])
    assert g.variants == () and g.image_url == "" and g.out_of_stock_since is None


def test_variant_sizes_are_in_the_catalog_and_in_searches(make_product):
    from shop.models import ProductVariant

    p = make_product("Fjord Hoodie", stock=3, attributes={"colour": "blue"})
    for k, (size, n, active) in enumerate([("S", 0, True), ("M", 3, True), ("L", 5, False)]):
        ProductVariant.objects.create(product=p, sku=f"FH-{size}", size=size, stock=n, position=k, is_active=active)
    other = make_product("Ridge Hoodie", stock=1, attributes={"sizes": "S,M"})
    ProductVariant.objects.create(product=other, sku="RH-M", size="M", stock=0)
    ProductVariant.objects.create(product=other, sku="RH-S", size="S", stock=1)
    before = assistant.catalog_version()
    entry = next(e for e in assistant.catalog_entries() if e.id == p.pk)
    assert entry.attributes == {"colour": "blue", "sizes": "S,M"}  # what the product page offers
    found, total = assistant.find_products(attributes={"sizes": "M"})
    assert [x.name for x in found] == ["Fjord Hoodie", "Ridge Hoodie"] and total == 2  # M in stock first
    found, _ = assistant.find_products(attributes={"sizes": "L"})
    assert found == []  # L is no longer sold
    ProductVariant.objects.create(product=p, sku="FH-XL", size="XL", stock=1, position=5)
    assert assistant.catalog_version() != before  # a new size: the chat re-reads the catalog
