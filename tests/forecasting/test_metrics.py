"""Metrics, baselines and the Online Retail adapter on small hand-made inputs."""
import numpy as np
import pandas as pd

from forecasting.engine import adapters
from forecasting.engine import baselines as B
from forecasting.engine.metrics import evaluate, point_metrics


def test_point_metrics():
    y = np.array([[1.0, 2, 3], [0, 0, 4]])
    f = np.array([[1.0, 1, 3], [1, 0, 4]])
    m = point_metrics(y, f, scale=np.array([1.0, 2.0]))
    assert np.isclose(m["MAE"], 2 / 6) and np.isclose(m["WAPE"], 2 / 10) and np.isclose(m["bias"], 0.0)
    assert np.isclose(m["MASE"], ((1 / 3) / 1 + (1 / 3) / 2) / 2)


def test_evaluate_bands_direction_coverage():
    rng = np.random.default_rng(0)
    hist = rng.poisson(3, (20, 120)).astype(float)
    y = rng.poisson(3, (20, 45)).astype(float)
    r = evaluate(y, y, hist, lo=y - 1, hi=y + 1)
    assert r["WAPE"] == 0 and r["cover80"] == 1 and r["dir_acc"] == 1 and r["dir_AUC"] == 1
    assert {"WAPE_1-7", "WAPE_8-28", "WAPE_29-45"} <= set(r)


def test_simple_baselines():
    u = np.tile(np.arange(7.0), (2, 4))
    assert np.array_equal(B.seasonal_naive(u, 10)[0], [0, 1, 2, 3, 4, 5, 6, 0, 1, 2])
    assert np.allclose(B.moving_average(u, 5), 3.0)


def test_lightgbm_direct_runs():
    rng = np.random.default_rng(0)
    units = rng.poisson(4, (6, 200)).astype(float)
    dates = pd.date_range("2021-01-01", periods=200)
    f = B.LightGBMDirect(horizon=10, n_estimators=20, n_jobs=1).fit_predict(
        units, np.full_like(units, 2.0), np.zeros(6, int), dates)
    assert f.shape == (6, 10) and (f >= 0).all()


def test_online_retail_adapter(tmp_path):
    rows = [
        ("536365", "85123A", "WHITE HANGING HEART", 6, "2010-12-01 08:26:00", 2.55),
        ("536366", "85123A", "WHITE HANGING HEART", 4, "2010-12-01 09:00:00", 2.55),
        ("C536367", "85123A", "WHITE HANGING HEART", -3, "2010-12-01 10:00:00", 2.55),
        ("536368", "POST", "POSTAGE", 1, "2010-12-01 10:00:00", 18.0),
        ("536369", "22633", "HAND WARMER", 2, "2010-12-02 10:00:00", 1.85),
        ("C536370", "22633", "HAND WARMER", -2, "2010-12-03 10:00:00", 1.85),
    ]
    df = pd.DataFrame(rows, columns=["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"])
    df["CustomerID"] = 1.0
    df["Country"] = "UK"
    df.to_csv(tmp_path / "r.csv.gz", index=False)
    s, i = adapters.online_retail(str(tmp_path / "r.csv.gz"))
    assert set(s.item_id) == {"85123A", "22633"}
    assert s.loc[s.item_id == "85123A", "units"].tolist() == [7.0]
    assert s.loc[s.item_id == "22633", "units"].tolist() == [2.0]
    assert list(i.columns) == ["item_id", "name", "description", "category", "image_path"]


def test_backtest_run_origin_baselines_and_cold_groups(tmp_path):
    from forecasting.engine.backtest import run_origin
    from tests.forecasting.conftest import make_data

    sales, items = make_data(None, images=False)
    rows = run_origin(sales, items, "2021-06-01", 10, {"snaive": None, "catmean": None},
                      hide_items=["SKU0"], groups={"cold": ["SKU0"], "warm": ["SKU1", "SKU2"]})
    assert {(r["model"], r["group"]) for r in rows} == {(m, g) for m in ("snaive", "catmean") for g in ("cold", "warm")}
    cold_snaive = [r for r in rows if r["model"] == "snaive" and r["group"] == "cold"][0]
    assert cold_snaive["WAPE"] == 1.0          # no history -> predicts zero


def test_wape_bias_and_totals_when_forecast_and_actual_sums_differ():
    """Hand values: actuals sum to 8, forecasts to 9, so any denominator but sum(actuals) is caught."""
    y = np.array([[4.0, 0, 2], [1, 1, 0]])
    f = np.array([[2.0, 1, 2], [0, 3, 1]])
    m = point_metrics(y, f)
    assert m["WAPE"] == 7 / 8                 # |e| = 2+1+0 + 1+2+1
    assert m["bias"] == 1 / 8
    assert m["MAE"] == 7 / 6
    r = evaluate(y, f, hist=np.ones((2, 20)))
    assert r["WAPE"] == 7 / 8
    assert r["WAPE_total"] == (abs(5 - 6) + abs(4 - 2)) / 8   # per-item totals over the horizon
    assert r["WAPE_1-7"] == 7 / 8
    f_over = f * 3                           # a forecast three times too high: WAPE > 1 (not capped)
    assert point_metrics(y, f_over)["WAPE"] == (np.abs(f_over - y).sum()) / 8 > 1
