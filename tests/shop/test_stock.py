"""Stock levels and stock-out periods as a shopper and a manager see them: what is left after a sale, the message
when there is not enough, a count or delivery, sizes adding up to their product."""
import pytest
from django.db import transaction

from shop import stock
from shop.models import Product, ProductVariant, StockOut


def open_stockouts(product):
    return StockOut.objects.filter(product=product, ended_at=None).count()


def closed_stockouts(product):
    return StockOut.objects.filter(product=product, ended_at__isnull=False).count()


def sized(make_product, **sizes):
    p = make_product(name="Tee", stock=0)
    for pos, (size, n) in enumerate(sizes.items()):
        ProductVariant.objects.create(product=p, sku=f"{p.sku}-{size}", size=size, stock=n, position=pos)
    with transaction.atomic():
        stock.sync_product_stock(stock.lock_products([p.pk])[p.pk])
    p.refresh_from_db()
    return p


def size(product, s):
    return ProductVariant.objects.get(product=product, size=s)


def take(product, n, variant=None):
    with transaction.atomic():
        locked = stock.lock_products([product.pk])[product.pk]
        return stock.take(locked, n, variant)


def test_the_shortage_message_names_what_is_left_and_what_was_asked(make_product):
    p = make_product(name="Mug", stock=2)
    assert str(stock.InsufficientStock(p, 3)) == "Only 2 of Mug left; you asked for 3."
    p.stock = 0
    assert str(stock.InsufficientStock(p, 1)) == "Mug is out of stock."
    p.stock = -1  # never below zero in the shop, but the message must not say "-1 left"
    assert str(stock.InsufficientStock(p, 1)) == "Mug is out of stock."


def test_the_shortage_message_names_the_size(make_product):
    p = sized(make_product, M=1, L=0)
    exc = stock.InsufficientStock(p, 2, size(p, "M"))
    assert str(exc) == "Only 1 of Tee (M) left; you asked for 2."
    assert (exc.product, exc.variant, exc.requested) == (p, size(p, "M"), 2)
    assert str(stock.InsufficientStock(p, 1, size(p, "L"))) == "Tee (L) is out of stock."


def test_lock_products_returns_each_product_once(make_product):
    a, b = make_product(), make_product()
    with transaction.atomic():
        locked = stock.lock_products([b.pk, a.pk, b.pk])
    assert set(locked) == {a.pk, b.pk} and locked[a.pk].pk == a.pk


def test_taking_stock_leaves_the_rest_and_the_last_unit_opens_a_stock_out(make_product):
    p = make_product(stock=3)
    assert take(p, 2) == 1
    assert Product.objects.get(pk=p.pk).stock == 1 and open_stockouts(p) == 0
    assert take(p, 1) == 0
    assert Product.objects.get(pk=p.pk).stock == 0 and open_stockouts(p) == 1


def test_taking_more_than_there_is_changes_nothing(make_product):
    p = make_product(name="Mug", stock=2)
    Product.objects.filter(pk=p.pk).update(stock=1)  # sold meanwhile: the copy in hand is stale
    with pytest.raises(stock.InsufficientStock, match="Only 1 of Mug left; you asked for 2"):
        take(p, 2)
    assert Product.objects.get(pk=p.pk).stock == 1 and open_stockouts(p) == 0


def test_taking_a_size_takes_it_from_the_size_and_the_product(make_product):
    p = sized(make_product, S=2, M=1)
    m = size(p, "M")
    assert take(p, 1, m) == 2 and m.stock == 0  # the size in hand shows what is left too
    assert (size(p, "S").stock, size(p, "M").stock, Product.objects.get(pk=p.pk).stock) == (2, 0, 2)
    assert open_stockouts(p) == 0  # other sizes are left
    with pytest.raises(stock.InsufficientStock, match=r"Tee \(M\) is out of stock"):
        take(p, 1, size(p, "M"))
    assert (size(p, "S").stock, Product.objects.get(pk=p.pk).stock) == (2, 2)
    assert take(p, 2, size(p, "S")) == 0 and open_stockouts(p) == 1  # the last unit of the last size


def test_a_size_of_another_product_is_refused(make_product):
    p, other = sized(make_product, M=5), sized(make_product, M=5)
    with pytest.raises(stock.InsufficientStock):
        take(p, 1, size(other, "M"))
    assert size(other, "M").stock == 5 and Product.objects.get(pk=p.pk).stock == 5


def test_giving_back_restocks_and_ends_the_stock_out(make_product):
    p = make_product(stock=1)
    take(p, 1)
    with transaction.atomic():
        stock.give_back(p.pk, 1)
    assert Product.objects.get(pk=p.pk).stock == 1 and open_stockouts(p) == 0 and closed_stockouts(p) == 1


def test_giving_back_a_size_restocks_the_size_and_the_product(make_product):
    p = sized(make_product, S=1, M=0)
    take(p, 1, size(p, "S"))
    assert open_stockouts(p) == 1
    with transaction.atomic():
        stock.give_back(p.pk, 1, size(p, "S").pk)
    assert (size(p, "S").stock, size(p, "M").stock, Product.objects.get(pk=p.pk).stock) == (1, 0, 1)
    assert open_stockouts(p) == 0


def test_giving_back_a_size_that_was_removed_restocks_the_product(make_product):
    p = make_product(stock=0)
    with transaction.atomic():
        stock.give_back(p.pk, 2, variant_id=987654)
    assert Product.objects.get(pk=p.pk).stock == 2


def test_giving_back_a_size_when_no_size_is_sold_any_more_restocks_the_product(make_product):
    p = sized(make_product, S=1)
    take(p, 1, size(p, "S"))
    assert open_stockouts(p) == 1
    ProductVariant.objects.filter(product=p).update(is_active=False)  # the product is sold as a whole now
    with transaction.atomic():
        stock.lock_products([p.pk])
        stock.give_back(p.pk, 1, size(p, "S").pk)
    assert Product.objects.get(pk=p.pk).stock == 1 and open_stockouts(p) == 0


def test_giving_back_nothing_keeps_the_stock_out_open(make_product):
    p = make_product(stock=1)
    take(p, 1)
    with transaction.atomic():
        stock.give_back(p.pk, 0)
    assert open_stockouts(p) == 1


def test_a_count_sets_the_level_and_opens_or_closes_the_stock_out(make_product):
    p = make_product(stock=4)
    stock.set_stock(p, 0)
    assert p.stock == 0 and Product.objects.get(pk=p.pk).stock == 0 and open_stockouts(p) == 1
    stock.set_stock(p, 0)  # counted empty again: still one period
    assert StockOut.objects.filter(product=p).count() == 1
    stock.set_stock(p, 7)
    assert p.stock == 7 and Product.objects.get(pk=p.pk).stock == 7
    assert open_stockouts(p) == 0 and closed_stockouts(p) == 1
    stock.set_stock(p, 3)
    assert StockOut.objects.filter(product=p).count() == 1


def test_a_product_with_sizes_is_counted_per_size(make_product):
    p = sized(make_product, S=1)
    with pytest.raises(ValueError, match="Tee has variants: set the stock of each one"):
        stock.set_stock(p, 5)
    assert Product.objects.get(pk=p.pk).stock == 1


def test_counting_a_size_keeps_the_product_the_sum_of_its_sizes(make_product):
    p = sized(make_product, S=2, M=3)
    assert p.stock == 5
    m = size(p, "M")
    stock.set_variant_stock(m, 10)
    assert m.stock == 10 and Product.objects.get(pk=p.pk).stock == 12
    stock.set_variant_stock(size(p, "S"), 0)
    stock.set_variant_stock(m, 0)
    assert Product.objects.get(pk=p.pk).stock == 0 and open_stockouts(p) == 1
    stock.set_variant_stock(m, 1)
    assert Product.objects.get(pk=p.pk).stock == 1 and open_stockouts(p) == 0 and closed_stockouts(p) == 1


def test_the_sum_counts_active_sizes_only_and_a_product_without_sizes_keeps_its_stock(make_product):
    p = sized(make_product, S=2, M=3)
    ProductVariant.objects.filter(pk=size(p, "S").pk).update(is_active=False)
    with transaction.atomic():
        assert stock.sync_product_stock(stock.lock_products([p.pk])[p.pk]) == 3
    assert Product.objects.get(pk=p.pk).stock == 3
    plain = make_product(stock=6)
    with transaction.atomic():
        assert stock.sync_product_stock(plain) == 6
    assert Product.objects.get(pk=plain.pk).stock == 6


def test_a_sync_that_changes_nothing_opens_no_period(make_product):
    p = sized(make_product, S=0)
    assert open_stockouts(p) == 0  # created empty: never sold out, no period
    with transaction.atomic():
        stock.sync_product_stock(p)
    assert StockOut.objects.filter(product=p).count() == 0


def test_giving_back_never_touches_another_products_size(make_product):
    p, other = make_product(stock=0), sized(make_product, M=2)
    with transaction.atomic():
        stock.give_back(p.pk, 1, size(other, "M").pk)  # a size id that is not p's: p gets the units
    assert Product.objects.get(pk=p.pk).stock == 1
    assert size(other, "M").stock == 2 and Product.objects.get(pk=other.pk).stock == 2


def test_counting_a_product_without_sizes_while_others_have_sizes(make_product):
    sized(make_product, M=2)
    p = make_product(stock=1)
    stock.set_stock(p, 0)  # the last unit counted away
    assert Product.objects.get(pk=p.pk).stock == 0 and open_stockouts(p) == 1


def test_a_stock_out_period_once_closed_keeps_its_end(make_product):
    p = make_product(stock=1)
    take(p, 1)
    with transaction.atomic():
        stock.give_back(p.pk, 1)
    first = StockOut.objects.get(product=p)
    take(p, 1)
    with transaction.atomic():
        stock.give_back(p.pk, 1)
    assert StockOut.objects.get(pk=first.pk).ended_at == first.ended_at and closed_stockouts(p) == 2


def test_counting_a_sold_out_size_as_still_empty_keeps_the_period_open(make_product):
    p = sized(make_product, S=1)
    take(p, 1, size(p, "S"))
    stock.set_variant_stock(size(p, "S"), 0)
    assert open_stockouts(p) == 1 and closed_stockouts(p) == 0


def changed_keys(action):
    """The page-cache change counters (shop.versions) that `action` bumps in this process."""
    from shop import versions

    before = dict(versions.current())
    action()
    after = versions.current()
    return {k for k in set(before) | set(after) if before.get(k, 0) != after.get(k, 0)}


def test_a_sale_marks_its_product_changed_and_the_lists_only_when_it_sells_out(make_product):
    from shop import versions

    p = make_product(stock=5)
    key = versions.product_key(p.pk)
    assert changed_keys(lambda: take(p, 1)) == {key}  # a product page shows the stock; lists only "sold out"
    assert changed_keys(lambda: take(p, 4)) == {key, versions.LISTS}  # the last unit: cards say "Out of stock"


def test_a_size_selling_out_changes_the_lists_while_its_product_still_has_stock(make_product):
    from shop import versions

    p = sized(make_product, S=1, M=3)
    key = versions.product_key(p.pk)
    assert changed_keys(lambda: take(p, 1, size(p, "M"))) == {key}
    assert changed_keys(lambda: take(p, 1, size(p, "S"))) == {key, versions.LISTS}  # S sold out, M still has 2
    assert Product.objects.get(pk=p.pk).stock == 2


def test_giving_back_marks_the_product_changed(make_product):
    from shop import versions

    p = make_product(stock=0)

    def back():
        with transaction.atomic():
            stock.lock_products([p.pk])
            stock.give_back(p.pk, 2)

    assert versions.product_key(p.pk) in changed_keys(back)


def test_a_product_whose_sizes_are_all_switched_off_is_counted_as_a_whole(make_product):
    p = sized(make_product, S=2)
    ProductVariant.objects.filter(product=p).update(is_active=False)
    stock.set_stock(p, 4)  # no active size left: the product's own count
    assert Product.objects.get(pk=p.pk).stock == 4


def test_the_last_unit_of_the_last_size_counted_away_opens_a_stock_out(make_product):
    p = sized(make_product, S=1)
    stock.set_variant_stock(size(p, "S"), 0)  # 1 -> 0
    assert Product.objects.get(pk=p.pk).stock == 0 and open_stockouts(p) == 1
