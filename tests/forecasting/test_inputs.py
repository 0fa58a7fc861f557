"""Input validation: clear ForecastInputError messages, and the CLI exits non-zero without a traceback."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.engine import ForecastInputError, api
from forecasting.engine import data as D
from forecasting.engine.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_missing_column(shop):
    sales, items = shop
    with pytest.raises(ForecastInputError, match="missing required column.*units"):
        D.validate_sales(sales.drop(columns=["units"]))
    with pytest.raises(ForecastInputError, match="items: missing required column.*description"):
        D.validate_items(items.drop(columns=["description"]))


def test_unparsable_date(shop):
    sales, _ = shop
    s = sales.copy()
    s.loc[3, "date"] = "2021-13-45"
    with pytest.raises(ForecastInputError, match=r"column 'date' has unparsable value '2021-13-45' \(row 3\)"):
        D.validate_sales(s)
    with pytest.raises(ForecastInputError, match="unparsable date"):
        D.parse_date("yesterday", "as_of")


def test_nan_units_and_non_numeric(shop):
    sales, _ = shop
    s = sales.copy()
    s.loc[5, "units"] = np.nan
    with pytest.raises(ForecastInputError, match="column 'units' has a NaN"):
        D.validate_sales(s)
    s = sales.copy().astype({"views": object})
    s.loc[2, "views"] = "lots"
    with pytest.raises(ForecastInputError, match="column 'views' has non-numeric value 'lots'"):
        D.validate_sales(s)


def test_negative_and_duplicate_rows(shop):
    sales, _ = shop
    s = sales.copy()
    s.loc[1, "units"] = -2
    with pytest.raises(ForecastInputError, match="negative"):
        D.validate_sales(s)
    with pytest.raises(ForecastInputError, match="duplicate"):
        D.validate_sales(pd.concat([sales, sales.iloc[:1]]))


def test_unknown_items(shop, tiny_config):
    sales, items = shop
    with pytest.raises(ForecastInputError, match=r"unknown item_id\(s\) \['SKU0'\]"):
        api.fit(sales, items[items.item_id != "SKU0"], tiny_config)


def test_empty_input(shop, tiny_config):
    sales, items = shop
    with pytest.raises(ForecastInputError, match="no rows"):
        api.fit(sales.iloc[:0], items, tiny_config)
    with pytest.raises(ForecastInputError, match="items: no rows"):
        D.validate_items(items.iloc[:0])


def test_unknown_config_option():
    with pytest.raises(ForecastInputError, match="unknown config option"):
        api.make_config({"epohcs": 3})


def test_price_gaps_are_filled(shop):
    sales, items = shop
    s = D.validate_sales(sales.assign(price=np.where(np.arange(len(sales)) % 3 == 0, np.nan, 9.99)))
    p = D.build_panel(s, items.item_id, s.date.min(), s.date.max())
    assert np.isfinite(p.price).all()


def _write(tmp_path, sales, items):
    sales.to_csv(tmp_path / "s.csv", index=False)
    items.to_csv(tmp_path / "i.csv", index=False)
    return str(tmp_path / "s.csv"), str(tmp_path / "i.csv")


def test_cli_errors_are_clean(shop, tmp_path, capsys):
    sales, items = shop
    bad = sales.copy()
    bad.loc[0, "date"] = "01/02/2021"
    s, i = _write(tmp_path, bad, items)
    rc = main(["forecast", "--sales", s, "--items", i, "--train-until", "2021-05-01", "--out", str(tmp_path / "f.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "error: sales: column 'date' has unparsable value '01/02/2021'" in err
    rc = main(["forecast", "--sales", s, "--items", i, "--train-until", "2021-99-01", "--out", str(tmp_path / "f.csv")])
    assert rc == 2 and "train_until: unparsable date" in capsys.readouterr().err
    rc = main(["forecast", "--sales", str(tmp_path / "nope.csv"), "--items", i, "--train-until", "2021-05-01",
               "--out", str(tmp_path / "f.csv")])
    assert rc == 2 and "file not found" in capsys.readouterr().err


def test_cli_subprocess_no_traceback(shop, tmp_path):
    sales, items = shop
    s, i = _write(tmp_path, sales.drop(columns=["units"]), items)
    r = subprocess.run([sys.executable, "-m", "forecasting.engine", "forecast", "--sales", s, "--items", i,
                        "--train-until", "2021-05-01", "--out", str(tmp_path / "f.csv")],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "error: sales: missing required column(s) ['units']" in r.stderr
    assert "Traceback" not in r.stderr


def test_engine_has_no_django_import():
    for f in (ROOT / "forecasting" / "engine").rglob("*.py"):
        text = f.read_text()
        assert "import django" not in text and "from django" not in text, f
