"""Imports refuse values the database cannot hold, or would silently change, naming the line; nothing is imported."""
import gzip

import pytest
from django.core.management import CommandError, call_command

from shop.models import Order, OrderLine, Product

CATALOG_HEADER = "sku,name,category,price,description,stock\n"
OK_ROW = "A,Ok,Cat,1.00,,1\n"


def _catalog(tmp_path, body, name="c.csv"):
    f = tmp_path / name
    f.write_text(CATALOG_HEADER + OK_ROW + body)
    return f


@pytest.mark.parametrize("row,reason", [
    ("B,Big,Cat,100000000.00,,1", "price 100000000.00 is too large"),
    ("B,Big,Cat,1.005,,1", "price 1.005 has more than 2 decimal places"),
    ("B,Many,Cat,1.00,,2147483648", "stock 2147483648 is too large"),
    ("B," + "N" * 201 + ",Cat,1.00,,1", "name is longer than 200 characters"),
    ("B,Deep,Home/" + "C" * 121 + ",1.00,,1", "category 'CCCC"),
    ("B,Nul\x00,Cat,1.00,,1", "NUL byte"),
    ("B,Ok,Cat,1.00,desc \x00 nul,1", "NUL byte"),
])
def test_catalog_out_of_range_values_name_the_line(tmp_path, db, row, reason):
    f = _catalog(tmp_path, row + "\n")
    with pytest.raises(CommandError) as exc:
        call_command("import_catalog", str(f))
    assert "line 3: " in str(exc.value) and reason in str(exc.value) and "Nothing was imported" in str(exc.value)
    assert Product.objects.count() == 0


def test_catalog_field_over_the_csv_limit_names_its_own_line(tmp_path, db):
    f = _catalog(tmp_path, "B,Long,Cat,1.00," + "x" * 300_000 + ",1\n")
    with pytest.raises(CommandError, match="line 3: ") as exc:
        call_command("import_catalog", str(f))
    assert "Traceback" not in str(exc.value)
    assert Product.objects.count() == 0


@pytest.mark.parametrize("command", ["import_catalog", "import_sales"])
def test_gz_file_that_is_not_gzip(tmp_path, db, command):
    f = tmp_path / "data.csv.gz"
    f.write_text("sku,name,category,price\nA,Ok,Cat,1.00\n")
    with pytest.raises(CommandError, match="not a gzip file"):
        call_command(command, str(f))


def test_truncated_gzip_names_the_problem(tmp_path, db):
    data = gzip.compress(("date,sku,quantity,unit_price\n" + "2025-01-01,A,1,1.00\n" * 2000).encode())
    f = tmp_path / "cut.csv.gz"
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(CommandError, match="ends early|corrupt"):
        call_command("import_sales", str(f))


@pytest.fixture
def sku_a(make_product):
    p = make_product()
    Product.objects.filter(pk=p.pk).update(sku="A")
    return p


@pytest.mark.parametrize("rows,line,reason", [
    ("2025-01-01,A,1,1.00,,O1\n2025-01-01,A,2147483648,1.00,,O2\n", 3, "quantity 2147483648 is too large"),
    ("2025-01-01,A,1,100000000,,O1\n", 2, "unit_price 100000000 is too large"),
    ("2025-01-01,A,1,1.005,,O1\n", 2, "unit_price 1.005 has more than 2 decimal places"),
    ("2025-01-01,A,2000000000,99999.99,,O1\n", 2, "order O1 totals"),
    ("2025-01-01,A,1,1.00,c\x00,O1\n", 2, "NUL byte"),
    ("2025-01-01,A,1,1.00,,O1\n2025-01-01,A,0,1.00,,O2\n2025-01-01,A,1,1.00,,O3\n", 3, "quantity 0 must be positive"),
    ("2025-01-01,A,1,1.00,,O1\n2025-01-01,A,-2,1.00,,O2\n2025-01-01,A,1,1.00,,O3\n", 3, "quantity -2 must be positive"),
    ("2025-01-01,A,1,1.00,," + "R" * 40 + "\n", 2, "order reference"),
])
def test_sales_out_of_range_values_name_the_line(tmp_path, sku_a, rows, line, reason):
    f = tmp_path / "s.csv"
    f.write_text("date,sku,quantity,unit_price,customer,order\n" + rows)
    with pytest.raises(CommandError) as exc:
        call_command("import_sales", str(f))
    assert f"line {line}: " in str(exc.value) and reason in str(exc.value), str(exc.value)
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0


def test_sales_sku_too_long_for_a_new_product(tmp_path, db):
    f = tmp_path / "s.csv"
    f.write_text("date,sku,quantity,unit_price\n2025-01-01,B,1,1.00\n2025-01-01," + "S" * 65 + ",1,1.00\n")
    with pytest.raises(CommandError, match="line 3: sku is longer than 64 characters"):
        call_command("import_sales", str(f), create_products=True)
    assert Order.objects.count() == 0 and Product.objects.count() == 0
