import numpy as np
import pandas as pd
import pytest

from recommender.engine.baselines import MODELS
from recommender.engine.data import validate_interactions, validate_items
from recommender.engine.evaluate import _rank_metrics, evaluate, prepare, tune_and_test


def test_rank_metrics_by_hand():
    s = np.array([-np.inf, 5.0, 4.0, 3.0, 2.0, 1.0])
    hr, ndcg, rec20, rr, auc, top = _rank_metrics(s, np.array([2, 5]))
    assert hr == 1.0
    assert ndcg == pytest.approx((1 / np.log2(3) + 1 / np.log2(6)) / (1 + 1 / np.log2(3)))
    assert rec20 == 1.0
    assert rr == pytest.approx(0.5)
    # negatives are items 1, 3, 4: target 2 outranks 3 and 4, target 5 outranks none
    assert auc == pytest.approx((2 / 3 + 0) / 2)
    assert top.tolist() == [1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def split(data):
    inter, items = data
    inter, items = validate_interactions(inter), validate_items(items)
    val = prepare(inter, items, "2024-02-01", "2024-02-15")
    test = prepare(inter, items, "2024-02-15", "2024-03-02")
    return val, test


@pytest.mark.parametrize("name", sorted(MODELS))
def test_baselines_score_every_item(split, name):
    val, _ = split
    params = {"epochs": 1, "dim": 8, "n_negatives": 16, "label_days": 7.0, "n_estimators": 5, "neighbours": 5}
    m = MODELS[name](**params).fit(val.enc, val.content)
    S = m.score(val.ev.users[:3])
    assert S.shape == (3, val.enc.n_items)
    res = evaluate(m, val, repeat=True)
    assert 0 <= res["NDCG@10"] <= 1 and res["n"] > 0


def test_tune_and_test_picks_on_validation_only(split):
    val, test = split
    rows = tune_and_test("popularity", [{"days": 7}, {"days": 0}], val, test, seeds=(0, 1, 2), log=lambda s: None)
    assert {r["repeat"] for r in rows} == {True, False}
    for r in rows:
        assert r["n_seeds"] == 1  # deterministic model: one run
        assert r["val_NDCG@10"] == max(
            evaluate(MODELS["popularity"](**p).fit(val.enc, val.content), val, r["repeat"])["NDCG@10"]
            for p in ({"days": 7}, {"days": 0}))


def test_prepare_never_uses_events_after_the_cutoff(split, data):
    val, _ = split
    assert pd.to_datetime(val.enc.t.max(), unit="s") < pd.Timestamp("2024-02-01")


def test_session_mode(data):
    inter = pd.DataFrame({
        "timestamp": pd.date_range("2024-01-01", periods=12, freq="D").astype(str),
        "user_id": [""] * 12, "session_id": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e", "e", "f"],
        "item_id": ["1", "2", "1", "2", "2", "3", "1", "2", "1", "2", "3", "1"], "event": ["view"] * 12})
    inter = validate_interactions(inter)
    prep = prepare(inter, validate_items(None), "2024-01-08", "2024-01-13", mode="session", target_events=("view",))
    assert prep.ev.histories == [[1], [1, 2]]
    m = MODELS["itemknn"](neighbours=5).fit(prep.enc)
    assert evaluate(m, prep, repeat=True)["HR@10"] == 1.0
