"""Catalog and sales imports as a merchant meets them: the exact message (naming the line) for each refused row,
what an accepted file creates and updates, and the orders, customers and products a sales file becomes."""
import gzip
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from hashlib import sha256

import pytest
from django.contrib.auth.models import User

from shop import imports
from shop.models import Category, Order, Product, ProductVariant, StockOut
from tests.conftest import png_bytes

CATALOG = "sku,name,category,price,description,stock,image,attributes,active,parent_sku,size,colour\n"
SALES = "date,sku,quantity,unit_price,customer,order\n"
UCI = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def csv(tmp_path, text, name="f.csv"):
    f = tmp_path / name
    f.write_text(text)
    return f


def refused(parse, tmp_path, text, **kw):
    with pytest.raises(imports.ImportFailed) as exc:
        parse(csv(tmp_path, text), **kw)
    return str(exc.value)


def catalog_error(tmp_path, *rows):
    return refused(imports.parse_catalog, tmp_path, CATALOG + "".join(r + "\n" for r in rows))


def test_the_error_names_the_line_when_there_is_one():
    e = imports.ImportFailed(7, "price 'x' is not a number")
    assert (str(e), e.line, e.message) == ("line 7: price 'x' is not a number", 7, "price 'x' is not a number")
    assert str(imports.ImportFailed(None, "f.csv has no rows")) == "f.csv has no rows"


# --- catalog rows -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("row, message", [
    (",Mug,Home,1.00,,,,,,,,", "line 2: sku is empty"),
    ("A,,Home,1.00,,,,,,,,", "line 2: name is empty"),
    ("A,Mug, / ,1.00,,,,,,,,", "line 2: category is empty"),
    ("A,Mug,Home/" + "C" * 121 + ",1.00,,,,,,,,", f"line 2: category 'CCCCCCCCCCCCCCCCCCCC'... is longer than 120 "
                                                  "characters"),
    ("A,Mug,Home,-1.00,,,,,,,,", "line 2: price '-1.00' must be at least 0"),
    ("A,Mug,Home,NaN,,,,,,,,", "line 2: price 'NaN' must be at least 0"),
    ("A,Mug,Home,ten,,,,,,,,", "line 2: price 'ten' is not a number"),
    ("A,Mug,Home,100000000,,,,,,,,", "line 2: price 100000000 is too large (at most 99999999.99)"),
    ("A,Mug,Home,1.001,,,,,,,,", "line 2: price 1.001 has more than 2 decimal places"),
    ("A,Mug,Home,1.00,,-1,,,,,,", "line 2: stock cannot be negative"),
    ("A,Mug,Home,1.00,,1.5,,,,,,", "line 2: stock '1.5' is not a whole number"),
    ("A,Mug,Home,1.00,,2147483648,,,,,,", "line 2: stock 2147483648 is too large (at most 2147483647)"),
    ("A,Mug,Home,1.00,,,,,maybe,,,", "line 2: active 'maybe' is not 1/0 or true/false"),
    ("A,Mug,Home,1.00,,,,colour,,,,", "line 2: attribute 'colour' is not key=value"),
    ("A,Mug,Home,1.00,,,,{bad,,,,", "line 2: attributes are not valid JSON (Expecting property name enclosed in "
                                    "double quotes)"),
    ('A,Mug,Home,1.00,,,,"{""a"": ""\\u0000""}",,,,', "line 2: attributes hold a NUL character"),
    ("A,Mug,Home,1.00,,,missing.png,,,,,", "line 2: image missing.png cannot be read"),
    ("A" * 65 + ",Mug,Home,1.00,,,,,,,,", "line 2: sku is longer than 64 characters"),
])
def test_a_bad_catalog_row_is_named_with_its_line(tmp_path, db, row, message):
    assert catalog_error(tmp_path, row) == message


def test_attributes_that_are_not_an_object_are_read_as_key_value_pairs(tmp_path, db):
    assert catalog_error(tmp_path, 'A,Mug,Home,1.00,,,,"[1, 2]",,,,') == "line 2: attribute '[1, 2]' is not key=value"


def test_the_line_of_a_later_row_and_of_the_first_duplicate(tmp_path, db):
    ok = "A,Mug,Home,1.00,,,,,,,,"
    assert catalog_error(tmp_path, ok, "B,Cup,Home,1.00,,,,,,,,", "A,Mug again,Home,2.00,,,,,,,,") == (
        "line 4: sku A already appears on line 2")
    assert catalog_error(tmp_path, ok, "B,Cup,Home,x,,,,,,,,") == "line 3: price 'x' is not a number"


def test_rows_with_too_many_or_too_few_fields(tmp_path, db):
    assert refused(imports.parse_catalog, tmp_path, "sku,name,category,price\nA,Mug,Home,1.00,x,y\n") == (
        "line 2: 6 fields; the header has 4")
    assert refused(imports.parse_catalog, tmp_path, "sku,name,category,price\nA,Mug,Home,1.00\nB,Cup\n") == (
        "line 3: too few fields; the header has 4")


def test_a_header_without_the_needed_columns(tmp_path, db):
    assert refused(imports.parse_catalog, tmp_path, "sku,name,cost\nA,Mug,1\n") == (
        "line 1: missing column(s) category, price; the header has sku, name, cost")
    assert refused(imports.parse_catalog, tmp_path, "") == (
        "line 1: missing column(s) sku, name, category, price; the header has nothing")


def test_a_file_without_rows_or_that_cannot_be_opened(tmp_path, db):
    f = csv(tmp_path, "sku,name,category,price\n")
    with pytest.raises(imports.ImportFailed) as exc:
        imports.parse_catalog(f)
    assert str(exc.value) == f"{f} has no rows" and exc.value.line is None
    with pytest.raises(imports.ImportFailed) as exc:
        imports.parse_catalog(tmp_path / "nowhere.csv")
    assert str(exc.value) == f"cannot open {tmp_path / 'nowhere.csv'}: No such file or directory"


def test_a_gzipped_catalog_reads_like_a_plain_one(tmp_path, db):
    f = tmp_path / "c.csv.gz"
    with gzip.open(f, "wt", encoding="utf-8") as fh:
        fh.write("\ufeffsku,name,category,price\nA,Mug,Home,1.50\n")  # with a byte-order mark, as Excel writes
    (row,) = imports.parse_catalog(f)
    assert (row.sku, row.name, row.price) == ("A", "Mug", Decimal("1.50"))


def test_what_an_accepted_catalog_row_holds(tmp_path, db):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(png_bytes())
    rows = imports.parse_catalog(csv(tmp_path, CATALOG + (
        " A ,  Blue Mug ,Home / Mugs/ ,  9.50 , A mug. , 4 ,img/a.png,colour = blue; ;size=M,no,,,\n"
        "B,Cup,Home,1,,,,,TRUE,,,\n"
        'C,Pot,Home,2.00,,,,"{""k"": 1}",0,,,\n'
        "D,Pan,Home,3.00,,,,,yes,,,\n")))
    a, b, c, d = rows
    assert (a.line, a.sku, a.name, a.category, a.price, a.description, a.stock) == (
        2, "A", "Blue Mug", ["Home", "Mugs"], Decimal("9.50"), "A mug.", 4)
    assert a.attributes == {"colour": "blue", "size": "M"} and a.active is False
    assert a.image == tmp_path / "img" / "a.png" and a.image_bytes == png_bytes()
    assert (b.stock, b.active, b.attributes, b.image, b.description) == (0, True, {}, None, "")
    assert c.attributes == {"k": 1} and c.active is False and d.active is True
    assert [r.line for r in rows] == [2, 3, 4, 5]


# --- variant rows -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("row, message", [
    ("T-M,,,,,1,,,,T,,", "line 3: a variant row (parent_sku) needs a size or a colour"),
    ("T-M,,,,,1,,,,T," + "S" * 21 + ",", "line 3: size is at most 20 characters, colour at most 40"),
    ("T-M,,,,,1,,,,T,M," + "C" * 41, "line 3: size is at most 20 characters, colour at most 40"),
    ("T-M,,,,,-1,,,,T,M,", "line 3: stock cannot be negative"),
    ("T-M,,,,,1,,,sure,T,M,", "line 3: active 'sure' is not 1/0 or true/false"),
    ("T-M,,,,,1,,,,NOPE,M,", "line 3: parent_sku NOPE is neither a product of this file nor of the shop"),
])
def test_a_bad_variant_row_is_named_with_its_line(tmp_path, db, row, message):
    assert catalog_error(tmp_path, "T,Tee,Apparel,20.00,,,,,,,,", row) == message


def test_variant_rows_and_their_products(tmp_path, make_product):
    shop_tee = make_product(name="Shop Tee")
    Product.objects.filter(pk=shop_tee.pk).update(sku="ST")
    rows = imports.parse_catalog(csv(tmp_path, CATALOG + (
        "T-M,,,,,3,,,,T, M ,\n"           # a variant listed before its product
        "T,Tee,Apparel,20.00,,,,,,,,\n"
        "T-L,,,,,,,,0,T,L,Blue\n"
        "ST-S,,,,,2,,,,ST,S,\n")))          # a variant of a product already in the shop
    m, _, big, s = rows
    assert (m.parent_sku, m.size, m.colour, m.stock, m.active) == ("T", "M", "", 3, True)
    assert (big.size, big.colour, big.stock, big.active) == ("L", "Blue", 0, False)
    assert s.parent_sku == "ST"
    assert catalog_error(tmp_path, "T,Tee,Apparel,20.00,,,,,,,,", "T-M,,,,,1,,,,T,M,", "T-M2,,,,,1,,,,T,M,") == (
        "line 4: T already has this size and colour on line 3")


def test_one_sku_names_one_thing(tmp_path, make_product):
    p = make_product()
    Product.objects.filter(pk=p.pk).update(sku="P")
    ProductVariant.objects.create(product=p, sku="P-M", size="M")
    assert catalog_error(tmp_path, "T,Tee,Apparel,20.00,,,,,,,,", "P,,,,,1,,,,T,S,") == (
        "line 3: sku P is a product's SKU; a variant needs its own")
    assert catalog_error(tmp_path, "T,Tee,Apparel,20.00,,,,,,,,", "P-M,Mug,Home,1.00,,,,,,,,") == (
        "line 3: sku P-M is a variant's SKU; a product needs its own")


# --- loading a catalog --------------------------------------------------------------------------------------------
def test_loading_creates_then_updates_and_counts(tmp_path, db):
    (tmp_path / "a.png").write_bytes(png_bytes())
    first = csv(tmp_path, CATALOG + "A,Blue Mug,Home/Mugs,9.50,A mug.,4,a.png,colour=blue,,,,\n"
                                    "B,Blue Mug,Home/Mugs,5.00,,0,,,0,,,\n")
    assert imports.load_catalog(imports.parse_catalog(first)) == {"created": 2, "updated": 0, "images": 1}
    a, b = Product.objects.get(sku="A"), Product.objects.get(sku="B")
    assert (a.name, a.price, a.description, a.stock, a.attributes, a.is_active) == (
        "Blue Mug", Decimal("9.50"), "A mug.", 4, {"colour": "blue"}, True)
    assert (a.category.name, a.category.parent.name, a.category.parent.parent) == ("Mugs", "Home", None)
    assert b.category == a.category and b.is_active is False and a.slug != b.slug
    assert a.slug == "blue-mug-a" and b.slug == "blue-mug-b"
    assert a.images.get().alt == "Blue Mug"
    second = csv(tmp_path, CATALOG + "A,Big Mug,Kitchen,11.00,Bigger.,0,a.png,,1,,,\n", name="g.csv")
    assert imports.load_catalog(imports.parse_catalog(second)) == {"created": 0, "updated": 1, "images": 0}
    a.refresh_from_db()
    assert (a.name, a.price, a.description, a.stock, a.attributes, a.category.name) == (
        "Big Mug", Decimal("11.00"), "Bigger.", 0, {}, "Kitchen")
    assert StockOut.objects.filter(product=a, ended_at=None).count() == 1  # counted to zero: sold out from now
    assert Category.objects.filter(name="Home").count() == 1


def test_a_category_name_elsewhere_in_the_tree_gets_its_own_slug(tmp_path, db):
    Category.objects.create(name="Other", slug="home-mugs")  # takes the slug the import would pick
    imports.load_catalog(imports.parse_catalog(csv(tmp_path, CATALOG + "A,Mug,Home/Mugs,1.00,,,,,,,,\n")))
    mugs = Product.objects.get(sku="A").category
    assert (mugs.name, mugs.slug, mugs.parent.slug) == ("Mugs", "home-mugs-2", "home")


def test_loading_variants_sets_the_products_stock_to_their_sum(tmp_path, db):
    f = csv(tmp_path, CATALOG + "T,Tee,Apparel,20.00,,9,,,,,,\nT-S,,,,,4,,,,T,S,\nT-M,,,,,6,,,,T,M,\n")
    assert imports.load_catalog(imports.parse_catalog(f)) == {
        "created": 1, "updated": 0, "images": 0, "variants created": 2, "variants updated": 0}
    assert Product.objects.get(sku="T").stock == 10
    assert list(ProductVariant.objects.order_by("position").values_list("sku", "size", "stock", "position")) == [
        ("T-S", "S", 4, 0), ("T-M", "M", 6, 1)]
    f = csv(tmp_path, CATALOG + "T,Tee,Apparel,20.00,,9,,,,,,\nT-S,,,,,1,,,0,T,S,\n", name="g.csv")
    assert imports.load_catalog(imports.parse_catalog(f)) == {
        "created": 0, "updated": 1, "images": 0, "variants created": 0, "variants updated": 1}
    assert Product.objects.get(sku="T").stock == 6  # S switched off: M's 6 are left


def test_a_variant_sku_of_another_product_is_refused(tmp_path, make_product):
    f = csv(tmp_path, CATALOG + "T,Tee,Apparel,20.00,,,,,,,,\nU,Top,Apparel,20.00,,,,,,,,\nT-S,,,,,4,,,,T,S,\n")
    imports.load_catalog(imports.parse_catalog(f))
    g = csv(tmp_path, CATALOG + "U,Top,Apparel,20.00,,,,,,,,\nT-S,,,,,4,,,,U,S,\n", name="g.csv")
    with pytest.raises(imports.ImportFailed) as exc:
        imports.load_catalog(imports.parse_catalog(g))
    assert str(exc.value) == "line 3: variant T-S belongs to another product"


def test_products_listed_after_a_variant_row_are_loaded_too(tmp_path, db):
    f = csv(tmp_path, CATALOG + "T,Tee,Apparel,20.00,,,,,,,,\nT-S,,,,,4,,,no,T,S,\nU,Top,Apparel,25.00,,3,,,,,,\n")
    assert imports.load_catalog(imports.parse_catalog(f))["created"] == 2
    assert Product.objects.get(sku="U").stock == 3
    assert ProductVariant.objects.get(sku="T-S").is_active is False  # "no" switches a size off


def test_categories_of_the_same_name_under_different_parents_stay_apart(tmp_path, db):
    f = csv(tmp_path, CATALOG + "A,Shoe A,Men/Shoes,50.00,,,,,,,,\nB,Shoe B,Women/Shoes,50.00,,,,,,,,\n")
    imports.load_catalog(imports.parse_catalog(f))
    a, b = Product.objects.get(sku="A").category, Product.objects.get(sku="B").category
    assert (a.name, a.parent.name, b.name, b.parent.name) == ("Shoes", "Men", "Shoes", "Women") and a != b


def test_an_unreadable_header_is_line_1(tmp_path, db):
    f = tmp_path / "latin1.csv"
    f.write_bytes("sku,name,cat\xe9gorie,price\n".encode("latin-1"))
    with pytest.raises(imports.ImportFailed) as exc:
        imports.parse_catalog(f)
    assert exc.value.line == 1 and str(exc.value).startswith("line 1: unreadable header (")


# --- sales ----------------------------------------------------------------------------------------------------------
def sales_error(tmp_path, *rows, **kw):
    return refused(imports.parse_sales, tmp_path, SALES + "".join(r + "\n" for r in rows), **kw)


@pytest.mark.parametrize("row, message", [
    ("2025-01-02,,1,1.00,,", "line 2: sku is empty"),
    ("2025-01-02,A,0,1.00,,", "line 2: quantity 0 must be positive"),
    ("2025-01-02,A,x,1.00,,", "line 2: quantity 'x' is not a whole number"),
    ("2025-01-02,A,1,-1.00,,", "line 2: unit_price '-1.00' must be at least 0"),
    ("02/01/2025,A,1,1.00,,", "line 2: date '02/01/2025' is not YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS]"),
    ("2025-01-02,A,1,1.00," + "c" * 141 + ",", "line 2: customer is longer than 140 characters"),
])
def test_a_bad_sales_row_is_named_with_its_line(tmp_path, db, row, message):
    assert sales_error(tmp_path, row) == message


def test_an_unknown_format_or_an_empty_file(tmp_path, db):
    f = csv(tmp_path, SALES)
    with pytest.raises(imports.ImportFailed) as exc:
        imports.parse_sales(f, fmt="xlsx")
    assert str(exc.value) == "unknown format 'xlsx'; use shop or uci"
    with pytest.raises(imports.ImportFailed) as exc:
        imports.parse_sales(f)
    assert str(exc.value) == f"{f} has no rows"


def test_sales_rows_dates_and_order_references(tmp_path, db):
    long_customer = "someone.with.a.long.address@example.com"
    batch = imports.parse_sales(csv(tmp_path, SALES + (
        "2025-01-02,A,2,1.50,c1,\n"
        "2025-01-02 10:30,A,1,1.50,,\n"
        "2025-01-02T10:30:15,A,1,1.50,c1,R-9\n"
        "2025-01-03 08:05:09,B,3,2.00," + long_customer + ",\n")), tz=dt_timezone.utc)
    a, b, c, d = batch.lines
    assert batch.rows == 4 and not batch.skipped
    assert a.at == datetime(2025, 1, 2, 12, 0, tzinfo=dt_timezone.utc)  # a day without a time: noon
    assert b.at == datetime(2025, 1, 2, 10, 30, tzinfo=dt_timezone.utc)
    assert c.at == datetime(2025, 1, 2, 10, 30, 15, tzinfo=dt_timezone.utc)
    assert d.at == datetime(2025, 1, 3, 8, 5, 9, tzinfo=dt_timezone.utc)
    assert (a.sku, a.quantity, a.unit_price, a.customer, a.line) == ("A", 2, Decimal("1.50"), "c1", 2)
    assert a.order_ref == "IMP-20250102-c1" and b.order_ref == "IMP-20250102-guest-3" and c.order_ref == "IMP-R-9"
    assert d.order_ref == "IMP-20250103-" + sha256(long_customer.encode()).hexdigest()[:16]


def test_uci_rows_skip_what_is_not_a_sale_and_count_it(tmp_path, db):
    batch = imports.parse_sales(csv(tmp_path, UCI + (
        "536365,85123A,WHITE MUG ,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
        "C536366,85123A,WHITE MUG,-1,2010-12-01 09:00:00,2.55,17850.0,United Kingdom\n"
        "536367,POST,POSTAGE,1,2010-12-01 09:00:00,18.00,17850.0,United Kingdom\n"
        "536368,gift_0001_10,VOUCHER,1,2010-12-01 09:00:00,10.00,,United Kingdom\n"
        "536369,22633,HAND WARMER,0,2010-12-01 09:00:00,1.85,,United Kingdom\n"
        "536370,22633,HAND WARMER,2,2010-12-01 09:00:00,-1.85,,United Kingdom\n"
        "536371,22633,HAND WARMER,2,2010-12-01 10:00,1.85,,United Kingdom\n")), fmt="uci", tz=dt_timezone.utc)
    assert batch.rows == 7
    assert batch.skipped == {"cancellation": 1, "non-product code": 2, "no sale (quantity or price not positive)": 2}
    a, b = batch.lines
    assert (a.sku, a.quantity, a.unit_price, a.customer, a.order_ref, a.description, a.line) == (
        "85123A", 6, Decimal("2.55"), "17850", "UCI-536365", "WHITE MUG", 2)
    assert (b.customer, b.order_ref, b.at) == ("", "UCI-536371", datetime(2010, 12, 1, 10, 0, tzinfo=dt_timezone.utc))
    assert refused(imports.parse_sales, tmp_path, UCI + ",85123A,X,1,2010-12-01 08:26:00,1.00,1,UK\n",
                   fmt="uci") == "line 2: InvoiceNo and StockCode must not be empty"
    assert refused(imports.parse_sales, tmp_path, UCI + "1,85123A,X,1,2010-12-01 08:26:00,1.001,1,UK\n",
                   fmt="uci") == "line 2: UnitPrice 1.001 has more than 2 decimal places"


def test_loading_sales_makes_delivered_orders_customers_and_lines(tmp_path, make_product):
    a = make_product(name="Mug")
    Product.objects.filter(pk=a.pk).update(sku="A")
    tee = make_product(name="Tee")
    ProductVariant.objects.create(product=tee, sku="TEE-M", size="M", colour="Blue")
    stock_before = Product.objects.get(pk=a.pk).stock
    batch = imports.parse_sales(csv(tmp_path, SALES + (
        "2025-01-02 09:00,A,2,1.50,c1,O1\n"
        "2025-01-02 08:00,TEE-M,1,20.00,c1,O1\n"
        "2025-01-03,A,1,1.50,Ann@Example.com,\n"
        "2025-01-04,A,1,1.50,,\n")), tz=dt_timezone.utc)
    assert imports.load_sales(batch) == {"orders": 3, "lines": 4, "new products": 0, "customers": 2}
    o1 = Order.objects.get(number="IMP-O1")
    assert o1.status == Order.Status.DELIVERED and o1.total == Decimal("23.00") and o1.subtotal == Decimal("23.00")
    assert o1.created_at == datetime(2025, 1, 2, 8, 0, tzinfo=dt_timezone.utc)  # its earliest line
    assert (o1.user.username, o1.email) == ("customer-c1", "customer-c1@imported.invalid")
    assert sorted(o1.lines.values_list("sku", "name", "variant_label", "unit_price", "quantity")) == [
        ("A", "Mug", "", Decimal("1.50"), 2), ("TEE-M", "Tee", "Blue, M", Decimal("20.00"), 1)]
    assert o1.lines.get(sku="TEE-M").product_id == tee.pk
    ann = Order.objects.get(number="IMP-20250103-Ann@Example.com")
    assert (ann.user.username, ann.email) == ("ann@example.com", "ann@example.com")
    guest = Order.objects.get(number="IMP-20250104-guest-5")
    assert guest.user is None and guest.email == "guest@imported.invalid"
    assert Product.objects.get(pk=a.pk).stock == stock_before  # history takes no stock today
    assert User.objects.filter(username="customer-c1").count() == 1


def test_unknown_skus_are_refused_or_created(tmp_path, make_product):
    rows = (SALES + "2025-01-02,ZZ,1,3.00,,O1\n2025-01-02,YY,1,3.00,,O2\n2025-01-03,YY,1,4.00,,O3\n")
    batch = imports.parse_sales(csv(tmp_path, rows))
    with pytest.raises(imports.ImportFailed) as exc:
        imports.load_sales(batch)
    assert str(exc.value) == ("line 3: unknown SKU YY (2 unknown in all); import the catalog first or pass "
                              "--create-products")
    assert not Order.objects.exists()
    assert imports.load_sales(batch, create_products=True, category="Old stock")["new products"] == 2
    yy = Product.objects.get(sku="YY")
    assert (yy.name, yy.price, yy.stock, yy.category.name, yy.is_active) == ("Yy", Decimal("4.00"), 0, "Old stock",
                                                                            True)


def test_uci_products_are_named_after_their_most_common_description(tmp_path, db):
    batch = imports.parse_sales(csv(tmp_path, UCI + (
        "1,85123A,white mug,1,2010-12-01 08:00,2.55,,UK\n"
        "2,85123A,WHITE MUG,1,2010-12-01 09:00,2.55,,UK\n"
        "3,85123A,WHITE MUG,1,2010-12-01 10:00,2.65,,UK\n"
        "4,85123a,,1,2010-12-01 10:00,1.00,,UK\n")), fmt="uci")
    assert imports.load_sales(batch, create_products=True)["new products"] == 2
    assert Product.objects.get(sku="85123A").name == "White Mug"
    assert Product.objects.get(sku="85123a").name == "85123A"  # no description: the SKU, as a title
    assert Product.objects.get(sku="85123A").category.name == "Imported"
    assert Product.objects.get(sku="85123A").slug != Product.objects.get(sku="85123a").slug


def test_an_order_imported_twice_or_too_large(tmp_path, make_product):
    p = make_product()
    Product.objects.filter(pk=p.pk).update(sku="A")
    f = csv(tmp_path, SALES + "2025-01-02,A,1,1.00,,O1\n2025-01-02,A,1,1.00,,O2\n")
    imports.load_sales(imports.parse_sales(f))
    g = csv(tmp_path, SALES + "2025-01-02,A,1,1.00,,O3\n2025-01-02,A,1,1.00,,O2\n", name="g.csv")
    with pytest.raises(imports.ImportFailed) as exc:
        imports.load_sales(imports.parse_sales(g))
    assert str(exc.value) == "line 3: order IMP-O2 was already imported"
    h = csv(tmp_path, SALES + "2025-01-02,A,1,1.00,,O9\n2025-01-02,A,100001,99999.99,,O8\n"
                              "2025-01-02,A,1,1.00,,O8\n", name="h.csv")
    with pytest.raises(imports.ImportFailed) as exc:
        imports.load_sales(imports.parse_sales(h))
    assert str(exc.value) == "line 3: order O8 totals more than 9999999999.99"
    assert Order.objects.count() == 2


def test_the_longest_values_that_fit_are_accepted(tmp_path, db):
    sku, name, cat = "S" * 64, "N" * 200, "C" * 120
    (row,) = imports.parse_catalog(csv(tmp_path, CATALOG + f"{sku},{name},{cat},99999999.99,,2147483647,,,,,,\n"))
    assert (row.sku, row.name, row.category, row.price, row.stock) == (sku, name, [cat], Decimal("99999999.99"),
                                                                       2147483647)


def test_an_invoice_number_too_long_for_an_order_number(tmp_path, db):
    assert refused(imports.parse_sales, tmp_path, UCI + "I" * 29 + ",85123A,X,1,2010-12-01 08:26:00,1.00,1,UK\n",
                   fmt="uci") == "line 2: InvoiceNo is longer than 28 characters"


def test_a_new_product_whose_slug_is_taken_gets_the_next_free_one(tmp_path, db):
    imports.load_catalog(imports.parse_catalog(csv(tmp_path, CATALOG + "A,Mug,Home,1.00,,,,,,,,\n")))
    imports.load_catalog(imports.parse_catalog(csv(tmp_path, CATALOG + "a,Mug,Home,1.00,,,,,,,,\n", name="g.csv")))
    batch = imports.parse_sales(csv(tmp_path, UCI + "1,A.,MUG,1,2010-12-01 08:00,2.55,,UK\n", name="s.csv"),
                                fmt="uci")
    imports.load_sales(batch, create_products=True)
    assert sorted(Product.objects.values_list("sku", "slug")) == [("A", "mug-a"), ("A.", "mug-a-3"),
                                                                  ("a", "mug-a-2")]
