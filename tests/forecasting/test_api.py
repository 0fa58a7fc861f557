"""fit / predict / artifact round trip, no leakage past the cutoff, cold start, progress."""
import numpy as np
import pandas as pd
import pytest

from forecasting.engine import ArtifactError, api
from forecasting.engine.__main__ import main


def test_fit_predict_roundtrip_identical(shop, tiny_config, tmp_path):
    sales, items = shop
    seen = []
    art = api.fit(sales, items, dict(tiny_config, image_cache_dir=str(tmp_path / "c")), progress=seen.append)
    assert [r["epoch"] for r in seen] == [1, 2]
    assert {"train_loss", "val_loss", "epochs"} <= set(seen[0])
    p1 = api.predict(art, sales, items, as_of="2021-06-30", horizon=10)
    assert list(p1.columns) == ["item_id", "date", "p10", "p50", "p90"]
    assert len(p1) == len(items) * 10
    assert p1["date"].iloc[0] == "2021-07-01"
    assert (p1.p10 <= p1.p50).all() and (p1.p50 <= p1.p90).all() and (p1.p10 >= 0).all()
    blob = api.save_artifact(art)
    assert isinstance(blob, bytes)
    p2 = api.predict(api.load_artifact(blob), sales, items, as_of="2021-06-30", horizon=10)
    pd.testing.assert_frame_equal(p1, p2)
    with pytest.raises(ArtifactError):
        api.load_artifact(b"not an artifact")


def test_horizon_too_long(shop, tiny_config):
    sales, items = shop
    art = api.fit(sales, items, dict(tiny_config, epochs=1, use_image=False))
    with pytest.raises(Exception, match="horizon"):
        api.predict(art, sales, items, horizon=50)


def test_cold_start_and_missing_image(shop, tiny_config, tmp_path):
    sales, items = shop
    new = pd.DataFrame([{"item_id": "NEW1", "name": "red mug new", "description": "a lovely red ceramic mug",
                         "category": "mugs", "image_path": str(tmp_path / "img0.png")},
                        {"item_id": "NEW2", "name": "odd thing", "description": "never seen words",
                         "category": "unknowncat", "image_path": str(tmp_path / "missing.png")}])
    (tmp_path / "broken.png").write_bytes(b"not a png")
    items2 = items.copy()
    items2.loc[1, "image_path"] = str(tmp_path / "broken.png")
    art = api.fit(sales, items2, dict(tiny_config, epochs=1))
    fc = api.predict(art, sales, pd.concat([items2, new]), as_of="2021-07-19", horizon=10)
    assert set(fc.item_id) == set(items2.item_id) | {"NEW1", "NEW2"}
    assert np.isfinite(fc[["p10", "p50", "p90"]].to_numpy()).all()


def _cli_forecast(tmp_path, sales, items, name, cutoff="2021-05-31"):
    s, i, out = tmp_path / f"{name}_s.csv", tmp_path / f"{name}_i.csv", tmp_path / f"{name}_f.csv"
    sales.to_csv(s, index=False)
    items.to_csv(i, index=False)
    import json

    cfg = tmp_path / "cfg.json"
    from tests.forecasting.conftest import TINY

    cfg.write_text(json.dumps(dict(TINY, image_cache_dir=str(tmp_path / "cache"))))
    rc = main(["forecast", "--sales", str(s), "--items", str(i), "--train-until", cutoff, "--horizon", "10",
               "--out", str(out), "--config", str(cfg)])
    assert rc == 0
    return pd.read_csv(out, dtype={"item_id": str})


def test_forecast_never_reads_past_train_until(shop, tmp_path):
    sales, items = shop
    f1 = _cli_forecast(tmp_path, sales, items, "a")
    changed = sales.copy()
    after = pd.to_datetime(changed["date"]) > "2021-05-31"
    changed.loc[after, "units"] = changed.loc[after, "units"] * 7 + 100
    changed.loc[after, "views"] = 9999
    changed.loc[after, "price"] = 0.01
    extra = pd.DataFrame([{"date": "2022-01-01", "item_id": "SKU0", "units": 1e6, "price": 1, "views": 0,
                           "add_to_carts": 0, "promo": 1, "stockout": 0}])
    f2 = _cli_forecast(tmp_path, pd.concat([changed, extra]), items, "b")
    assert f1["date"].iloc[0] == "2021-06-01" and f1["date"].max() == "2021-06-10"
    pd.testing.assert_frame_equal(f1, f2)


def test_cli_fit_predict(shop, tmp_path, tiny_config):
    import json

    sales, items = shop
    sales.to_csv(tmp_path / "s.csv", index=False)
    items.to_csv(tmp_path / "i.csv", index=False)
    (tmp_path / "c.json").write_text(json.dumps(dict(tiny_config, epochs=1)))
    assert main(["fit", "--sales", str(tmp_path / "s.csv"), "--items", str(tmp_path / "i.csv"),
                 "--config", str(tmp_path / "c.json"), "--artifact", str(tmp_path / "a.pt")]) == 0
    assert main(["predict", "--sales", str(tmp_path / "s.csv"), "--items", str(tmp_path / "i.csv"),
                 "--artifact", str(tmp_path / "a.pt"), "--as-of", "2021-06-01", "--out", str(tmp_path / "p.csv")]) == 0
    p = pd.read_csv(tmp_path / "p.csv")
    assert len(p) == 60 and p.date.min() == "2021-06-02"
