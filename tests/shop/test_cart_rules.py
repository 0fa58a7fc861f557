"""The cart's rules as a shopper meets them: the messages when a quantity cannot be had, sizes, quantities set and
removed, the cart found again on the next request, merged at login, and its total."""
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from shop import cart as carts
from shop.models import Cart, CartLine, ProductVariant, Promotion


def visitor(session=None):
    return SimpleNamespace(user=AnonymousUser(), session={} if session is None else session)


def lines(cart):
    return sorted(cart.lines.values_list("product_id", "variant_id", "quantity"))


@pytest.fixture
def tee(make_product):
    p = make_product(name="Tee", stock=3)
    m = ProductVariant.objects.create(product=p, sku=f"{p.sku}-M", size="M", stock=2, position=0)
    ProductVariant.objects.create(product=p, sku=f"{p.sku}-L", size="L", stock=1, position=1, is_active=False)
    return p, m


# --- finding the cart --------------------------------------------------------------------------------------------
def test_a_visitors_cart_is_created_on_demand_and_found_again(db):
    req = visitor()
    assert carts.get_cart(req) is None and Cart.objects.count() == 0  # only looking creates nothing
    cart = carts.get_cart(req, create=True)
    assert req.session[carts.SESSION_KEY] == cart.pk and cart.user is None
    assert carts.get_cart(visitor(dict(req.session))) == cart
    assert carts.get_cart(visitor(dict(req.session)), create=True) == cart and Cart.objects.count() == 1


def test_a_visitor_never_gets_a_customers_cart(user):
    theirs = Cart.objects.create(user=user)
    req = visitor({carts.SESSION_KEY: theirs.pk})
    assert carts.get_cart(req) is None
    mine = carts.get_cart(req, create=True)
    assert mine != theirs and mine.user is None and req.session[carts.SESSION_KEY] == mine.pk


def test_a_customer_has_one_cart(user):
    req = SimpleNamespace(user=user, session={})
    assert carts.get_cart(req) is None and Cart.objects.count() == 0
    cart = carts.get_cart(req, create=True)
    assert cart.user == user and req.session == {}
    assert carts.get_cart(req) == cart and carts.get_cart(req, create=True) == cart
    assert Cart.objects.count() == 1


# --- sizes ---------------------------------------------------------------------------------------------------------
def test_a_product_with_sizes_needs_one_of_its_sold_sizes(tee, make_product):
    p, m = tee
    for none in (None, ""):
        with pytest.raises(carts.CartError, match="^Choose a size of Tee.$"):
            carts.resolve_variant(p, none)
    assert carts.resolve_variant(p, m.pk) == m and carts.resolve_variant(p, str(m.pk)) == m
    other = make_product(name="Cap")
    other_size = ProductVariant.objects.create(product=other, sku="CAP-M", size="M", stock=1)
    inactive = ProductVariant.objects.get(product=p, size="L")
    for bad in ("abc", [1], other_size.pk, inactive.pk, 987654):
        with pytest.raises(carts.CartError, match="^That size of Tee is not sold.$"):
            carts.resolve_variant(p, bad)
    plain = make_product(name="Mug")
    assert carts.resolve_variant(plain, None) is None and carts.resolve_variant(plain, "") is None


# --- adding and setting quantities ----------------------------------------------------------------------------------
def test_adding_checks_the_quantity_against_stock_and_the_line_limit(make_product, settings):
    settings.SHOP_MAX_LINE_QUANTITY = 5
    p = make_product(name="Mug", stock=8)
    cart = Cart.objects.create()
    for qty, message in ((0, "Quantity must be at least 1."), (-2, "Quantity must be at least 1."),
                         (6, "At most 5 of one product per order.")):
        with pytest.raises(carts.CartError) as exc:
            carts.add(cart, p, qty)
        assert str(exc.value) == message
    line = carts.add(cart, p)  # one by default
    assert line.quantity == 1
    assert carts.add(cart, p, 4).quantity == 5 and lines(cart) == [(p.pk, None, 5)]  # the same line grows
    with pytest.raises(carts.CartError, match="^At most 5 of one product per order.$"):
        carts.add(cart, p, 1)  # the line's total counts, not the units added
    assert lines(cart) == [(p.pk, None, 5)]


def test_the_stock_message_says_how_many_are_left(make_product):
    p = make_product(name="Mug", stock=2)
    cart = Cart.objects.create()
    carts.add(cart, p, 2)  # exactly what is left
    with pytest.raises(carts.CartError) as exc:
        carts.add(cart, p, 1)
    assert str(exc.value) == "Only 2 of Mug in stock."
    sold_out = make_product(name="Lamp", stock=0)
    with pytest.raises(carts.CartError) as exc:
        carts.add(cart, sold_out, 1)
    assert str(exc.value) == "Lamp is out of stock."
    gone = make_product(name="Vase", stock=5, is_active=False)
    with pytest.raises(carts.CartError) as exc:
        carts.add(cart, gone, 1)
    assert str(exc.value) == "Vase is no longer sold."
    assert lines(cart) == [(p.pk, None, 2)]


def test_sizes_are_lines_of_their_own_checked_against_their_own_stock(tee):
    p, m = tee
    cart = Cart.objects.create()
    with pytest.raises(carts.CartError, match="^Choose a size of Tee.$"):
        carts.add(cart, p, 1)
    carts.add(cart, p, 2, m)
    with pytest.raises(carts.CartError) as exc:
        carts.add(cart, p, 1, m)
    assert str(exc.value) == "Only 2 of Tee (M) in stock."
    ProductVariant.objects.filter(pk=m.pk).update(is_active=False)
    m.refresh_from_db()
    with pytest.raises(carts.CartError) as exc:
        carts.set_quantity(cart, p, 1, m)
    assert str(exc.value) == "Tee (M) is no longer sold."
    assert lines(cart) == [(p.pk, m.pk, 2)]


def test_setting_a_quantity_replaces_it_and_zero_removes_the_line(make_product, tee):
    p = make_product(name="Mug", stock=4)
    cart = Cart.objects.create()
    carts.set_quantity(cart, p, 3)  # no line yet: one is made
    assert lines(cart) == [(p.pk, None, 3)]
    carts.set_quantity(cart, p, 1)
    assert lines(cart) == [(p.pk, None, 1)]
    with pytest.raises(carts.CartError, match="^Only 4 of Mug in stock.$"):
        carts.set_quantity(cart, p, 5)
    assert lines(cart) == [(p.pk, None, 1)]
    t, m = tee
    with pytest.raises(carts.CartError, match="^Choose a size of Tee.$"):
        carts.set_quantity(cart, t, 1)
    carts.set_quantity(cart, t, 2, m)
    carts.set_quantity(cart, p, 0)
    assert lines(cart) == [(t.pk, m.pk, 2)]
    carts.set_quantity(cart, t, -1, m)
    assert lines(cart) == []


def test_removing_a_line_says_whether_there_was_one(make_product):
    p = make_product(stock=4)
    cart = Cart.objects.create()
    carts.add(cart, p, 2)
    assert carts.remove(cart, p) == 1 and carts.remove(cart, p) == 0 and lines(cart) == []


def test_adding_marks_the_cart_used(make_product):
    cart = Cart.objects.create()
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=30))
    carts.add(cart, make_product(stock=4), 1)
    assert Cart.objects.get(pk=cart.pk).updated_at > timezone.now() - timedelta(minutes=5)


# --- merging at login ---------------------------------------------------------------------------------------------
def test_merging_adds_quantities_per_size_and_empties_the_visitors_cart(make_product, user, tee):
    t, m = tee
    a = make_product(stock=10)
    mine = Cart.objects.create(user=user)
    CartLine.objects.create(cart=mine, product=a, quantity=2)
    CartLine.objects.create(cart=mine, product=t, variant=m, quantity=1)
    anon = Cart.objects.create()
    CartLine.objects.create(cart=anon, product=a, quantity=3)
    CartLine.objects.create(cart=anon, product=t, variant=m, quantity=1)
    req = visitor({carts.SESSION_KEY: anon.pk})
    carts.merge_session_cart(req, user)
    assert lines(mine) == sorted([(a.pk, None, 5), (t.pk, m.pk, 2)])
    assert not Cart.objects.filter(pk=anon.pk).exists() and carts.SESSION_KEY not in req.session


def test_merging_into_a_new_customer_cart(make_product, user, tee):
    a = make_product(stock=10)
    t, m = tee
    anon = Cart.objects.create()
    CartLine.objects.create(cart=anon, product=a, quantity=3)
    CartLine.objects.create(cart=anon, product=t, variant=m, quantity=1)
    carts.merge_session_cart(visitor({carts.SESSION_KEY: anon.pk}), user)
    assert lines(Cart.objects.get(user=user)) == sorted([(a.pk, None, 3), (t.pk, m.pk, 1)])


def test_merging_caps_at_the_stock_and_drops_what_sold_out(make_product, user, settings):
    settings.SHOP_MAX_LINE_QUANTITY = 6
    few, gone, gone_both, many, last = (make_product(stock=4), make_product(stock=2), make_product(stock=2),
                                        make_product(stock=100), make_product(stock=1))
    mine = Cart.objects.create(user=user)
    CartLine.objects.create(cart=mine, product=few, quantity=3)
    CartLine.objects.create(cart=mine, product=last, quantity=1)
    CartLine.objects.create(cart=mine, product=gone_both, quantity=1)
    anon = Cart.objects.create()
    for p, q in ((few, 3), (gone, 2), (gone_both, 1), (many, 6), (last, 1)):
        CartLine.objects.create(cart=anon, product=p, quantity=q)
    CartLine.objects.create(cart=mine, product=many, quantity=2)
    type(few).objects.filter(pk__in=[gone.pk, gone_both.pk]).update(stock=0)
    carts.merge_session_cart(visitor({carts.SESSION_KEY: anon.pk}), user)
    assert lines(mine) == sorted([(few.pk, None, 4), (many.pk, None, 6), (last.pk, None, 1)])


def test_nothing_to_merge(user, make_product):
    carts.merge_session_cart(visitor(), user)  # no visitor cart: nothing happens
    assert not Cart.objects.exists()
    theirs = Cart.objects.create(user=user)
    CartLine.objects.create(cart=theirs, product=make_product(stock=5), quantity=1)
    req = visitor({carts.SESSION_KEY: theirs.pk})  # a session pointing at a customer's cart is not a visitor's
    carts.merge_session_cart(req, user)
    assert Cart.objects.count() == 1 and lines(theirs)[0][2] == 1 and carts.SESSION_KEY not in req.session


# --- the summary ----------------------------------------------------------------------------------------------------
def test_the_summary_prices_each_line_at_todays_price(make_product, tee):
    a, b = make_product(price="12.50", stock=10), make_product(price="20.00", stock=10)
    today = timezone.localdate()
    Promotion.objects.create(product=b, starts_on=today, ends_on=today, discount_percent=25)
    Promotion.objects.create(product=a, starts_on=today - timedelta(days=9), ends_on=today - timedelta(days=1),
                             discount_percent=50)  # over yesterday
    Promotion.objects.create(product=a, starts_on=today + timedelta(days=1), ends_on=today + timedelta(days=9),
                             discount_percent=40)  # starts tomorrow
    t, m = tee
    cart = Cart.objects.create()
    carts.add(cart, a, 3)
    carts.add(cart, b, 2)
    carts.add(cart, t, 1, m)
    s = carts.summary(cart)
    rows = {(r.product.pk, r.variant.pk if r.variant else None): r for r in s.rows}
    assert rows[(a.pk, None)].unit_price == Decimal("12.50") and rows[(a.pk, None)].line_total == Decimal("37.50")
    assert rows[(b.pk, None)].unit_price == Decimal("15.00") and rows[(b.pk, None)].line_total == Decimal("30.00")
    assert rows[(t.pk, m.pk)].variant == m and rows[(t.pk, m.pk)].quantity == 1
    assert s.count == 6 and s.total == Decimal("37.50") + Decimal("30.00") + Decimal("10.00")


def test_an_empty_or_missing_cart_sums_to_zero(db):
    for c in (None, Cart.objects.create()):
        s = carts.summary(c)
        assert s.rows == [] and s.count == 0 and s.total == Decimal("0.00")


def test_setting_a_sizes_quantity_changes_that_line(tee):
    t, m = tee
    cart = Cart.objects.create()
    carts.set_quantity(cart, t, 2, m)
    carts.set_quantity(cart, t, 1, m)  # the line of size M, not a second line
    assert lines(cart) == [(t.pk, m.pk, 1)]


def test_the_summary_reads_a_whole_cart_in_a_fixed_number_of_queries(make_product, django_assert_num_queries):
    cart = Cart.objects.create()
    for i in range(4):
        carts.add(cart, make_product(name=f"P{i}", price="10.00", stock=5), 1)
    with django_assert_num_queries(3):  # lines with products, categories and sizes; photos; today's promotions
        s = carts.summary(cart)
        assert [r.product.category.name for r in s.rows] and s.total == Decimal("40.00")


def test_a_carts_lines_are_the_same_key_whatever_order_they_were_added_in(make_product, tee):
    """The cart page is kept per content (shop.pagecache): two carts with the same lines are one page."""
    t, m = tee
    m2 = ProductVariant.objects.create(product=t, sku=f"{t.sku}-S", size="S", stock=2, position=2)
    a, b = make_product(name="A", stock=5), make_product(name="B", stock=5)
    one, two = Cart.objects.create(), Cart.objects.create()
    for cart, order in ((one, [(b, None), (t, m2), (a, None), (t, m)]), (two, [(t, m), (a, None), (t, m2), (b, None)])):
        for product, variant in order:
            carts.add(cart, product, 1, variant)
    keys = [carts.line_keys(visitor({carts.SESSION_KEY: c.pk})) for c in (one, two)]
    assert keys[0] == keys[1] == tuple(sorted(keys[0], key=lambda k: (k[0], k[1] or 0)))
    assert len(keys[0]) == 4
