"""Every number forecasting.engine.metrics reports, against values computed by hand on tiny arrays."""
import math

import numpy as np
import pytest

from forecasting.engine.metrics import BANDS, direction_metrics, evaluate, mase_scale, point_metrics


def test_point_metrics_by_hand():
    y = np.array([[1.0, 3.0], [2.0, 6.0]])   # sum 12, mean 3
    f = np.array([[2.0, 1.0], [2.0, 9.0]])   # errors +1, -2, 0, +3
    m = point_metrics(y, f)
    assert m["MAE"] == pytest.approx(6 / 4)
    assert m["RMSE"] == pytest.approx(math.sqrt((1 + 4 + 0 + 9) / 4))
    assert m["WAPE"] == pytest.approx(6 / 12)
    assert m["bias"] == pytest.approx(2 / 12)
    assert m["R2"] == pytest.approx(1 - 14 / (4 + 0 + 1 + 9))   # SS_tot around the mean 3: 4, 0, 1, 9
    assert "MASE" not in m


def test_mase_averages_per_item_over_items_with_a_scale():
    y = np.array([[1.0, 3.0], [2.0, 6.0], [5.0, 5.0]])
    f = np.array([[2.0, 1.0], [2.0, 9.0], [0.0, 0.0]])
    m = point_metrics(y, f, scale=np.array([0.5, 3.0, 0.0]))  # the third item has no scale: left out
    assert m["MASE"] == pytest.approx(((1.5 / 0.5) + (1.5 / 3.0)) / 2)
    assert math.isnan(point_metrics(y, f, scale=np.zeros(3))["MASE"])


def test_no_actual_sales_give_no_wape_or_bias_and_a_flat_actual_no_division_by_zero():
    m = point_metrics(np.zeros((2, 3)), np.ones((2, 3)))
    assert math.isnan(m["WAPE"]) and math.isnan(m["bias"]) and m["MAE"] == 1.0
    assert m["R2"] == pytest.approx(1 - 6 / 1e-12)  # SS_tot is 0: floored, not a division by zero
    assert point_metrics(np.ones((1, 2)), np.ones((1, 2)))["R2"] == 1.0


def test_the_seasonal_naive_scale_of_each_item():
    hist = np.array([np.arange(10.0), np.r_[np.zeros(7), [7.0, 0.0, 0.0]]])
    # lag-7 differences: item 0: 7, 7, 7; item 1: 7, 0, 0
    assert np.allclose(mase_scale(hist), [7.0, 7 / 3])
    active = np.ones_like(hist)
    active[1, 8:] = 0  # item 1 was not sold on its last two days: only its first difference counts
    assert np.allclose(mase_scale(hist, active), [7.0, 7.0])
    none_active = np.zeros_like(hist)
    assert np.allclose(mase_scale(hist, none_active), [0.0, 0.0])
    assert np.array_equal(mase_scale(np.ones((3, 7))), np.zeros(3))  # a week or less of history: no scale


def test_direction_accuracy_and_auc_by_hand():
    prev = np.array([[2.0, 2.0], [2.0, 2.0], [2.0, 2.0], [2.0, 2.0]])          # sum 4 each
    y = np.array([[3.0, 3.0], [1.0, 1.0], [4.0, 4.0], [2.0, 2.0]])             # up, down, up, down (4 is not up)
    f = np.array([[5.0, 0.0], [3.0, 3.0], [1.0, 1.0], [1.0, 1.0]])             # sums 5, 6, 2, 2
    m = direction_metrics(y, f, prev)
    assert m["dir_acc"] == pytest.approx(2 / 4)  # right on items 0 and 3
    # scores sum(f) / (4 + 1): 1.0, 1.2, 0.4, 0.4; the ups (1.0, 0.4) beat the downs (1.2, 0.4) in 1 + 0.5 of 4 pairs
    assert m["dir_AUC"] == pytest.approx(1.5 / 4)
    all_up = direction_metrics(y + 10, f, prev)
    assert all_up["dir_acc"] == pytest.approx(2 / 4) and math.isnan(all_up["dir_AUC"])
    assert math.isnan(direction_metrics(y * 0, f, prev)["dir_AUC"])  # all down: no AUC either


def test_evaluate_by_hand_with_coverage_and_the_bands_clipped_to_the_horizon():
    hist = np.tile(np.r_[np.zeros(7), np.full(7, 2.0)], (2, 1))        # lag-7 differences 2: scale 2
    y = np.array([[1.0] * 10, [0.0] * 9 + [4.0]])                        # sums 10 and 4
    f = np.array([[2.0] * 10, [0.0] * 10])
    lo, hi = f - 1, f + 1
    r = evaluate(y, f, hist, lo=lo, hi=hi)
    assert r["WAPE"] == pytest.approx(14 / 14) and r["MAE"] == pytest.approx(14 / 20)
    assert r["MASE"] == pytest.approx(((10 / 10) / 2 + (4 / 10) / 2) / 2)
    assert r["WAPE_total"] == pytest.approx((abs(20 - 10) + abs(0 - 4)) / 14)
    # inside [f - 1, f + 1], ends included: item 0 every day (1 is f - 1), item 1 all but the last day
    assert r["cover80"] == pytest.approx(19 / 20)
    assert r["WAPE_1-7"] == pytest.approx(7 / 7) and r["MAE_1-7"] == pytest.approx(7 / 14)
    assert r["WAPE_8-28"] == pytest.approx((3 + 4) / 7) and r["MAE_8-28"] == pytest.approx(7 / 6)
    assert "WAPE_29-45" not in r and "MAE_29-45" not in r  # the horizon ends on day 10
    # the previous 10 days sum 14 for both; actual 10 and 4: both down; forecast 20 up, 0 down
    assert r["dir_acc"] == pytest.approx(1 / 2)
    assert "cover80" not in evaluate(y, f, hist) and "cover80" not in evaluate(y, f, hist, lo=lo)


def test_coverage_counts_values_on_the_band_edges_as_inside():
    y = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    r = evaluate(y, y, np.ones((1, 14)), lo=np.array([[1.0, 2.5, 3.0, 4.0 + 1e-12, 4.0]]),
                 hi=np.array([[1.0, 3.0, 3.0 - 1e-12, 5.0, 4.5]]))
    assert r["cover80"] == pytest.approx(3 / 5)  # 2 < 2.5 and 5 > 4.5 are out; float noise at the edges is in


def test_a_horizon_shorter_than_a_week_has_only_the_first_band():
    y = np.array([[1.0, 2.0, 3.0]])
    r = evaluate(y, y + 1, np.ones((1, 14)))
    assert r["WAPE_1-7"] == pytest.approx(3 / 6) and r["MAE_1-7"] == 1.0
    assert not {"WAPE_8-28", "WAPE_29-45"} & set(r)
    assert [b[0] for b in BANDS] == ["1-7", "8-28", "29-45"]


def test_nothing_sold_in_the_horizon_gives_no_wape_total():
    r = evaluate(np.zeros((1, 7)), np.ones((1, 7)), np.ones((1, 14)))
    assert math.isnan(r["WAPE_total"]) and math.isnan(r["WAPE"])
    assert "WAPE_1-7" in r and "WAPE_8-28" not in r  # a one-week horizon has exactly the first band


def test_the_direction_score_is_the_forecast_over_the_last_period_plus_one_unit():
    # item 0 sold 1 unit last period, item 1 sold 4; the forecasts are 3 and 10 units: scores 3/2 = 1.5 and
    # 10/5 = 2.0, so the item that went up (item 0: 2 > 1) ranks below the one that went down (3 < 4): AUC 0
    prev = np.array([[1.0, 0.0], [2.0, 2.0]])
    y = np.array([[1.0, 1.0], [1.0, 2.0]])
    f = np.array([[3.0, 0.0], [5.0, 5.0]])
    m = direction_metrics(y, f, prev)
    assert m["dir_AUC"] == pytest.approx(0.0) and m["dir_acc"] == pytest.approx(0.5)
