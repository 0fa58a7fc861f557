"""The cutoff day belongs to the training data: a change on the train_until day itself changes the forecast, a
change after it does not (test_api.py checks the latter through the CLI)."""
import pandas as pd

from forecasting.engine import api

CUT = "2021-05-31"


def _spike(sales, day, units=500.0):
    s = sales.copy()
    s.loc[(s["date"] == day) & (s["item_id"] == "SKU0"), "units"] = units
    return s


def test_a_sale_on_the_train_until_day_changes_the_forecast(shop, tiny_config):
    sales, items = shop
    cfg = dict(tiny_config, use_image=False, epochs=1)
    base, art = api.forecast(sales, items, CUT, horizon=10, config=cfg)
    assert art.train_until == CUT
    spiked, _ = api.forecast(_spike(sales, CUT), items, CUT, horizon=10, config=cfg)
    sku0 = lambda f: f[f["item_id"] == "SKU0"]["p50"].to_numpy()  # noqa: E731
    assert sku0(spiked).sum() > sku0(base).sum() * 1.5      # the scale and the last input day both see it
    later, _ = api.forecast(_spike(sales, "2021-06-01"), items, CUT, horizon=10, config=cfg)
    pd.testing.assert_frame_equal(base, later)


def test_fit_train_until_and_predict_as_of_include_the_day(shop, tiny_config):
    sales, items = shop
    cfg = dict(tiny_config, use_image=False, epochs=1)
    art = api.fit(sales, items, cfg, train_until=CUT)
    assert art.train_until == CUT
    base = api.predict(art, sales, items, as_of=CUT, horizon=10)
    spiked = api.predict(art, _spike(sales, CUT), items, as_of=CUT, horizon=10)
    assert not base[base.item_id == "SKU0"]["p50"].equals(spiked[spiked.item_id == "SKU0"]["p50"])
    refit = api.fit(_spike(sales, CUT), items, cfg, train_until=pd.Timestamp(CUT).date())
    assert refit.scalers["SKU0"][0] > art.scalers["SKU0"][0]
