"""Imports: one bad row names its line and imports nothing; the real UCI file loads."""
import gzip
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shop.models import Category, Order, OrderLine, Product
from tests.conftest import SHARED, png_bytes

UCI = SHARED / "online-retail" / "online_retail_2010-12-01_to_2011-09-30.csv.gz"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_catalog_import_with_images_and_attributes(tmp_path, db):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "mug.png").write_bytes(png_bytes())
    f = write(tmp_path, "cat.csv", "sku,name,category,price,description,stock,image,attributes\n"
              "MUG-1,Blue Mug,Home/Mugs,9.90,A mug,12,img/mug.png,colour=blue;size=M\n"
              'TEE-1,Tee,Apparel/Tees,19.00,A tee,3,,"{""colour"": ""red""}"\n')
    call_command("import_catalog", str(f))
    mug = Product.objects.get(sku="MUG-1")
    assert mug.category.parent.name == "Home" and mug.stock == 12 and mug.attributes == {"colour": "blue", "size": "M"}
    assert mug.images.count() == 1
    call_command("import_catalog", str(f))  # again: updates, no duplicate image
    assert Product.objects.count() == 2 and mug.images.count() == 1 and Category.objects.count() == 4


@pytest.mark.parametrize("body,line,reason", [
    ("A,Ok,Cat,1.00\nB,Bad,Cat,abc\n", 3, "price 'abc' is not a number"),
    ("A,Ok,Cat,1.00\nA,Twice,Cat,2.00\n", 3, "sku A already appears on line 2"),
    ("A,Ok,Cat,1.00\nB,,Cat,2.00\n", 3, "name is empty"),
    ("A,Ok,Cat,1.00,extra\n", 2, "5 fields"),
])
def test_malformed_catalog_imports_nothing(tmp_path, db, body, line, reason):
    f = write(tmp_path, "bad.csv", "sku,name,category,price\n" + body)
    with pytest.raises(CommandError) as exc:
        call_command("import_catalog", str(f))
    assert f"line {line}: {reason}" in str(exc.value) and "Nothing was imported" in str(exc.value)
    assert Product.objects.count() == 0


def test_catalog_refuses_a_non_image(tmp_path, db):
    (tmp_path / "fake.jpg").write_text("not an image")
    f = write(tmp_path, "c.csv", "sku,name,category,price,image\nA,Ok,Cat,1.00,fake.jpg\n")
    with pytest.raises(CommandError, match="line 2: fake.jpg is not an image"):
        call_command("import_catalog", str(f))
    assert Product.objects.count() == 0


def test_sales_import_and_bad_line(tmp_path, make_product, db):
    a = make_product()
    a.sku = "A1"
    a.save()
    good = write(tmp_path, "s.csv", "date,sku,quantity,unit_price,customer,order\n"
                 "2025-01-02,A1,2,9.50,c1,O1\n2025-01-02,A1,1,9.50,c1,O1\n2025-01-03 10:30,A1,1,9.00,,O2\n")
    call_command("import_sales", str(good))
    assert Order.objects.count() == 2 and OrderLine.objects.count() == 3
    assert Order.objects.get(number="IMP-O1").user.username == "customer-c1"
    a.refresh_from_db()
    assert a.stock == 10  # history does not change today's stock
    bad = write(tmp_path, "b.csv", "date,sku,quantity,unit_price\n2025-02-01,A1,1,9.00\n2025-02-30,A1,1,9.00\n")
    with pytest.raises(CommandError, match=r"line 3: date '2025-02-30'"):
        call_command("import_sales", str(bad))
    unknown = write(tmp_path, "u.csv", "date,sku,quantity,unit_price\n2025-02-01,A1,1,9.00\n2025-02-01,ZZ,1,9.00\n")
    with pytest.raises(CommandError, match="line 3: unknown SKU ZZ"):
        call_command("import_sales", str(unknown))
    with pytest.raises(CommandError, match="order IMP-O1 was already imported"):
        call_command("import_sales", str(good))
    missing = write(tmp_path, "m.csv", "date,sku,qty\n")
    with pytest.raises(CommandError, match="line 1: missing column"):
        call_command("import_sales", str(missing))
    assert Order.objects.count() == 2


def _uci_head(tmp_path, n):
    with gzip.open(UCI, "rt") as fh:
        lines = [next(fh) for _ in range(n + 1)]
    p = tmp_path / "uci.csv"
    p.write_text("".join(lines))
    return p, lines


@pytest.mark.skipif(not UCI.exists(), reason="shared data not present")
def test_uci_file_loads_and_a_corrupt_copy_imports_nothing(tmp_path, db):
    p, lines = _uci_head(tmp_path, 3000)
    broken = lines[:1500] + ["536999,85123A,WHITE HEART,six,2010-12-05 10:00:00,2.55,17850.0,United Kingdom\n"] + lines[1500:]
    bad = tmp_path / "broken.csv"
    bad.write_text("".join(broken))
    with pytest.raises(CommandError, match="line 1501: Quantity 'six' is not a whole number"):
        call_command("import_sales", str(bad), format="uci")
    assert Order.objects.count() == 0 and Product.objects.count() == 0
    out = io.StringIO()
    call_command("import_sales", str(p), format="uci", stdout=out)
    assert "rows/s" in out.getvalue()
    assert not Order.objects.filter(number__startswith="UCI-C").exists()  # cancellations skipped
    assert not Product.objects.filter(sku__in=["POST", "M", "DOT"]).exists()
    o = Order.objects.get(number="UCI-536365")
    assert o.lines.count() == 7 and o.user.username == "customer-17850"
    assert Product.objects.get(sku="85123A").name == "White Hanging Heart T-Light Holder"


@pytest.mark.slow
@pytest.mark.skipif(not UCI.exists(), reason="shared data not present")
def test_full_uci_file_loads(db):
    out = io.StringIO()
    call_command("import_sales", str(UCI), format="uci", stdout=out)
    assert OrderLine.objects.count() == 360567 and Order.objects.count() == 14201
    assert "6652 skipped cancellation" in out.getvalue()
