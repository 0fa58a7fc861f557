"""One dialect for both engines: typed configs, artifacts with a format version, progress(epoch, metrics), one error
base class per engine, the same CLI flags (old spellings still work, with a warning), no environment reads."""
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import torch

from forecasting.engine import ArtifactError as ForecastArtifactError
from forecasting.engine import Config as ForecastConfig
from forecasting.engine import ForecastError, ForecastInputError
from forecasting.engine import api as forecaster
from forecasting.engine.__main__ import main as forecast_cli
from mlcore import artifact as mlbytes
from recommender.engine import ArtifactError as RecArtifactError
from recommender.engine import Config as RecConfig
from recommender.engine import RecommenderError, RecommenderInputError
from recommender.engine import api as recommender
from recommender.engine.cli import main as recommend_cli
from tests.forecasting.conftest import TINY as F_TINY
from tests.forecasting.conftest import make_data as forecast_data
from tests.recommender.conftest import TINY as R_TINY
from tests.recommender.conftest import make_data as recommender_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("Config,Error", [(ForecastConfig, ForecastInputError), (RecConfig, RecommenderInputError)])
def test_configs_are_typed_and_validated(Config, Error):
    cfg = Config.from_dict({"epochs": 7, "seed": 3.0})
    assert (cfg.epochs, cfg.seed) == (7, 3) and cfg.to_dict()["epochs"] == 7
    assert Config.from_dict(cfg, epochs=2).epochs == 2 and cfg.epochs == 7      # a copy, not the same object
    assert Config.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(Error, match=r"unknown config option.*'epohcs'"):
        Config.from_dict({"epohcs": 3})
    with pytest.raises(Error, match=r"option 'epochs' must be int, got 'ten'"):
        Config.from_dict({"epochs": "ten"})
    with pytest.raises(Error, match=r"option 'epochs' must be at least 1"):
        Config.from_dict({"epochs": 0})
    with pytest.raises(Error, match="must be float"):
        Config.from_dict({"lr": True})
    assert issubclass(Error, (ForecastError, RecommenderError))


def test_forecast_config_names_its_choices():
    with pytest.raises(ForecastInputError, match=r"option 'temporal' must be one of .*'bilstm'.*got 'rnn'"):
        ForecastConfig.from_dict({"temporal": "rnn"})
    assert ForecastConfig()["horizon"] == 45        # dict-style reads still work for older callers


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    sales, items = forecast_data(None, images=False)
    f_seen, r_seen = [], []
    fa = forecaster.fit(sales, items, dict(F_TINY, use_image=False), progress=lambda e, m: f_seen.append((e, m)))
    inter, r_items = recommender_data()
    ra = recommender.fit(inter, r_items, R_TINY, progress=lambda e, m: r_seen.append((e, m)), verbose=False)
    return fa, ra, f_seen, r_seen, (sales, items, inter, r_items)


def test_both_engines_report_progress_as_epoch_and_metrics(fitted):
    _, _, f_seen, r_seen, _ = fitted
    for seen in (f_seen, r_seen):
        # epochs count from 1 to the planned total: the forecaster's 2; the recommender's served hybrid fits its
        # DNN (2 epochs) once per usable label window and once more on everything
        total = seen[0][1]["epochs"]
        assert [e for e, _ in seen] == list(range(1, total + 1)) and total % 2 == 0
        for _, m in seen:
            assert {"epochs", "train_loss", "seconds"} <= set(m) and m["epochs"] == total
    assert f_seen[-1][0] == 2
    assert "val_loss" in f_seen[0][1]


def test_a_one_argument_progress_callback_still_works_with_a_warning():
    sales, items = forecast_data(None, images=False)
    seen = []
    with pytest.warns(DeprecationWarning, match=r"progress\(epoch, metrics\)"):
        forecaster.fit(sales, items, dict(F_TINY, use_image=False, epochs=1), progress=seen.append)
    assert seen[0]["epoch"] == 1 and "train_loss" in seen[0]


def test_artifacts_carry_magic_and_format_version(fitted):
    fa, ra, *_ = fitted
    for art, cls, Error, magic in ((fa, forecaster.Artifact, ForecastArtifactError, "forecasting.engine.artifact"),
                                   (ra, recommender.Artifact, RecArtifactError, "recommender.engine.artifact")):
        blob = art.to_bytes()
        state = torch.load(io.BytesIO(blob), weights_only=True)
        assert state["magic"] == magic and isinstance(state["version"], int)
        assert cls.from_bytes(blob).train_until == art.train_until
        future = mlbytes.to_bytes({**state, "version": 99}, magic=magic, version=99)
        with pytest.raises(Error, match="format version 99 is not supported"):
            cls.from_bytes(future)
        with pytest.raises(Error, match="not a"):
            cls.from_bytes(b"garbage")
    with pytest.raises(RecArtifactError, match="magic marker"):
        recommender.Artifact.from_bytes(fa.to_bytes())       # one engine's model is not the other's
    with pytest.raises(ForecastArtifactError, match="magic marker"):
        forecaster.Artifact.from_bytes(ra.to_bytes())


def test_version_1_forecast_artifacts_still_load(fitted):
    fa, _, _, _, (sales, items, *_) = fitted
    old = {"version": 1, "config": fa.config.to_dict() | {"device": None}, "state_dict": fa.state_dict,
           "vocab": fa.vocab, "categories": fa.categories, "scalers": fa.scalers, "category_scale": fa.category_scale,
           "global_scale": fa.global_scale, "image_channels": fa.image_channels, "n_regions": fa.n_regions,
           "train_until": fa.train_until, "metrics": {}, "image_norm": fa.image_norm}
    buf = io.BytesIO()
    torch.save(old, buf)
    back = forecaster.load_artifact(buf.getvalue())
    pd.testing.assert_frame_equal(forecaster.predict(back, sales, items, horizon=5),
                                  forecaster.predict(fa, sales, items, horizon=5))


def _csvs(tmp_path):
    sales, items = forecast_data(None, images=False)
    inter, r_items = recommender_data()
    paths = {k: tmp_path / f"{k}.csv" for k in ("sales", "items", "inter", "r_items")}
    for k, df in zip(paths, (sales, items, inter, r_items)):
        df.to_csv(paths[k], index=False)
    return {k: str(v) for k, v in paths.items()}


def test_both_clis_share_train_until_artifact_out_set_and_progress_json(tmp_path, capsys):
    p = _csvs(tmp_path)
    f_cfg = json.dumps(dict(F_TINY, use_image=False, epochs=1))
    r_cfg = json.dumps(dict(R_TINY, epochs=1))
    fa, ra = tmp_path / "f.model", tmp_path / "r.model"
    assert forecast_cli(["fit", "--sales", p["sales"], "--items", p["items"], "--config", f_cfg, "--set", "seed=2",
                         "--train-until", "2021-06-30", "--artifact", str(fa), "--progress-json"]) == 0
    err = capsys.readouterr().err
    rec = json.loads([line for line in err.splitlines() if line.startswith("{")][0])
    assert rec["epoch"] == 1 and "train_loss" in rec
    art = forecaster.Artifact.from_bytes(fa.read_bytes())
    assert art.train_until == "2021-06-30" and art.config.seed == 2
    assert recommend_cli(["fit", "--interactions", p["inter"], "--items", p["r_items"], "--config", r_cfg,
                          "--set", "seed=2", "--train-until", "2024-02-10", "--artifact", str(ra),
                          "--progress-json"]) == 0
    err = capsys.readouterr().err
    assert json.loads([line for line in err.splitlines() if line.startswith("{")][0])["epoch"] == 1
    art = recommender.Artifact.load(ra)
    assert art.train_until == "2024-02-10" and art.config.seed == 2
    # --out: a file, or stdout with '-'
    assert forecast_cli(["predict", "--sales", p["sales"], "--items", p["items"], "--artifact", str(fa),
                         "--horizon", "3", "--out", "-"]) == 0
    assert capsys.readouterr().out.startswith("item_id,date,p10,p50,p90")
    assert recommend_cli(["predict", "--artifact", str(ra), "--k", "2", "--out", "-"]) == 0
    assert capsys.readouterr().out.startswith("user_id,rank,item_id,score")


def test_old_flag_spellings_still_work_and_say_they_are_deprecated(tmp_path, capsys):
    p = _csvs(tmp_path)
    m = tmp_path / "r.model"
    assert recommend_cli(["fit", "--interactions", p["inter"], "--model", str(m), "--epochs", "1",
                          "--config", json.dumps(R_TINY)]) == 0
    assert "--model is deprecated; use --artifact" in capsys.readouterr().err
    out = tmp_path / "r.csv"
    assert recommend_cli(["predict", "--model", str(m), "--k", "2", "--out", str(out)]) == 0
    assert "deprecated" in capsys.readouterr().err and len(pd.read_csv(out)) > 0
    with pytest.raises(SystemExit) as exc:
        recommend_cli(["predict", "--k", "2"])
    assert exc.value.code == 2 and "--artifact" in capsys.readouterr().err


def test_engines_read_no_environment(monkeypatch, tmp_path):
    from mlcore.images import ImageFeatureExtractor

    monkeypatch.setenv("FORECAST_RESNET_WEIGHTS", str(tmp_path / "weights.pth"))
    assert ImageFeatureExtractor("resnet18").weights_path is None
    offenders = []
    for pkg in ("mlcore", "forecasting/engine", "recommender/engine", "chatbot/engine"):
        for f in (ROOT / pkg).rglob("*.py") if (ROOT / pkg).exists() else ():
            if f.name == "__main__.py" and pkg == "forecasting/engine":
                continue    # the CLI program honours the deprecated FORECAST_RESNET_WEIGHTS, with a warning
            if re.search(r"os\.environ|os\.getenv|getenv\(", f.read_text()):
                offenders.append(str(f.relative_to(ROOT)))
    assert offenders == []


def test_the_forecast_cli_still_honours_the_deprecated_weights_variable(tmp_path, capsys, monkeypatch):
    p = _csvs(tmp_path)
    monkeypatch.setenv("FORECAST_RESNET_WEIGHTS", str(tmp_path / "missing.pth"))
    rc = forecast_cli(["fit", "--sales", p["sales"], "--items", p["items"], "--config",
                       json.dumps(dict(F_TINY, epochs=1)), "--artifact", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert "FORECAST_RESNET_WEIGHTS is deprecated; use --image-weights" in err
    assert rc == 0 or "missing.pth" in err


def test_predict_refuses_image_weights_other_than_the_trained_ones(tmp_path):
    sales, items = forecast_data(tmp_path)
    art = forecaster.fit(sales, items, dict(F_TINY, epochs=1))
    assert art.image_weights_id == "random-seed0" and art.metrics["n_images"] == len(items)
    other = tmp_path / "other.pth"
    other.write_bytes(b"some other weights")
    with pytest.raises(ForecastInputError, match="not the ones the model was trained with"):
        forecaster.predict(art, sales, items, image_weights=str(other))
    assert len(forecaster.predict(art, sales, items, horizon=3)) == 3 * len(items)
