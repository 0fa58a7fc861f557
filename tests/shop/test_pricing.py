"""What a shopper is charged: today's unit price (list price less the best running promotion, rounded to the cent)
and an order's totals with VAT included in or added to the prices. Hand-computed values."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from shop import pricing
from shop.models import Product, Promotion

DAY = date(2026, 6, 10)


def promo(product, pct, starts=DAY, ends=DAY):
    return Promotion.objects.create(product=product, starts_on=starts, ends_on=ends, discount_percent=pct)


def test_without_a_promotion_the_list_price_is_charged(make_product):
    p = make_product(price="12.34")
    assert pricing.active_discount(p, DAY) == 0
    assert pricing.unit_price(p, DAY) == Decimal("12.34")


def test_the_best_of_overlapping_promotions_applies(make_product):
    p = make_product(price="40.00")
    promo(p, 10, DAY - timedelta(days=5), DAY + timedelta(days=5))
    promo(p, 25, DAY, DAY + timedelta(days=1))
    promo(p, 50, DAY + timedelta(days=1), DAY + timedelta(days=2))  # not yet running on DAY
    assert pricing.active_discount(p, DAY) == 25
    assert pricing.unit_price(p, DAY) == Decimal("30.00")
    assert pricing.unit_price(p, DAY + timedelta(days=2)) == Decimal("20.00")
    assert pricing.unit_price(p, DAY + timedelta(days=6)) == Decimal("40.00")


@pytest.mark.parametrize("offset, applies", [(-1, False), (0, True), (3, True), (4, False)])
def test_a_promotion_runs_from_its_first_to_its_last_day(make_product, offset, applies):
    p = make_product(price="10.00")
    promo(p, 20, DAY, DAY + timedelta(days=3))
    assert pricing.unit_price(p, DAY + timedelta(days=offset)) == (Decimal("8.00") if applies else Decimal("10.00"))


def test_today_is_the_default_day(make_product):
    p = make_product(price="10.00")
    promo(p, 30, date.today(), date.today())
    assert pricing.unit_price(p) == Decimal("7.00")


def test_prefetched_promotions_give_the_same_price_in_fewer_queries(make_product, django_assert_num_queries):
    p = make_product(price="9.99")
    promo(p, 15, date.today(), date.today())
    listed = Product.objects.for_listing().get(pk=p.pk)  # today's promotions prefetched
    with django_assert_num_queries(0):
        assert pricing.unit_price(listed) == Decimal("8.49")
    plain = Product.objects.get(pk=p.pk)
    with django_assert_num_queries(1):  # without the prefetch: one query for the promotions
        assert pricing.unit_price(plain) == Decimal("8.49")


@pytest.mark.parametrize("price, pct, expected", [
    ("9.99", 15, "8.49"),   # 8.4915
    ("0.05", 50, "0.03"),   # 0.025: half a cent rounds up, not to even
    ("19.99", 90, "2.00"),  # 1.999
])
def test_discounted_prices_round_half_up_to_the_cent(make_product, price, pct, expected):
    p = make_product(price=price)
    promo(p, pct)
    assert pricing.unit_price(p, DAY) == Decimal(expected)


def test_money_is_shown_with_thousands_separators_two_decimals_and_the_currency(settings):
    settings.SHOP_CURRENCY = "EUR"
    assert pricing.format_money(Decimal("1234.5")) == "1,234.50 EUR"
    assert pricing.format_money("0.1") == "0.10 EUR"


def test_totals_with_vat_included_in_prices(settings):
    settings.SHOP_PRICES_INCLUDE_VAT, settings.SHOP_VAT_RATE = True, Decimal("19")
    t = pricing.totals(Decimal("100"), Decimal("19"))
    assert (t.subtotal, t.shipping, t.vat, t.total) == (Decimal("100.00"), Decimal("19.00"), Decimal("19.00"),
                                                        Decimal("119.00"))
    assert t.vat_rate == Decimal("19") and t.prices_include_vat is True
    t = pricing.totals(Decimal("10"))  # no shipping: 10 * 19 / 119 = 1.5966
    assert (t.shipping, t.vat, t.total) == (Decimal("0.00"), Decimal("1.60"), Decimal("10.00"))


def test_totals_with_vat_added_on_top(settings):
    settings.SHOP_PRICES_INCLUDE_VAT, settings.SHOP_VAT_RATE = False, Decimal("19")
    t = pricing.totals(Decimal("10.00"), Decimal("4.90"))  # 14.90 * 0.19 = 2.831
    assert (t.subtotal, t.shipping, t.vat, t.total) == (Decimal("10.00"), Decimal("4.90"), Decimal("2.83"),
                                                        Decimal("17.73"))
    assert t.prices_include_vat is False
    t = pricing.totals(Decimal("1.50"))  # 0.285: half a cent rounds up
    assert (t.vat, t.total) == (Decimal("0.29"), Decimal("1.79"))


def test_vat_included_rounds_half_up(settings):
    settings.SHOP_PRICES_INCLUDE_VAT, settings.SHOP_VAT_RATE = True, Decimal("20")
    t = pricing.totals(Decimal("0.03"))  # 0.03 * 20 / 120 = 0.005
    assert (t.vat, t.total) == (Decimal("0.01"), Decimal("0.03"))
