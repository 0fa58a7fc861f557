"""The served model (hybrid.py): repeat signals by hand, training in time order, what the re-ranker decides,
the API around it (filters, sessions, "customers also bought", artifacts old and new, progress, errors)."""
import io

import numpy as np
import pandas as pd
import pytest
import torch

from recommender.engine import RecommenderInputError, api, hybrid
from recommender.engine.data import encode, validate_interactions
from recommender.engine.signals import FEATURES, Signals
from recommender.engine.tifu import baskets

from .conftest import TINY

HYB = {**TINY, "tifu": {"neighbours": 5},
       "ranker": {"label_days": 15.0, "windows": 2, "min_label_users": 5, "candidates": 4, "n_estimators": 20}}
T0 = pd.Timestamp("2024-01-01")


def _frame(rows):
    return pd.DataFrame([(T0 + pd.Timedelta(days=d), u, i, e) for d, u, i, e in rows],
                        columns=["timestamp", "user_id", "item_id", "event"])


def test_repeat_signals_by_hand():
    # u bought A on days 0, 10 and 20 (with B on day 20); v bought A on day 25 ("now")
    inter = validate_interactions(_frame([(0, "u", "A", "purchase"), (10, "u", "A", "purchase"),
                                          (20, "u", "A", "purchase"), (20, "u", "B", "purchase"),
                                          (25, "v", "A", "purchase")]))
    enc = encode(inter)
    s = Signals(enc, baskets(enc, 1.0))
    u, v, a, b = enc.user_index["u"], enc.user_index["v"], enc.item_index["A"], enc.item_index["B"]
    X = dict(zip(FEATURES, s.features(np.array([u]), np.array([a]))[0]))
    assert X["ui_baskets"] == 3 and X["ui_share"] == 1
    assert X["ui_days_last"] == pytest.approx(5) and X["ui_days_first"] == pytest.approx(25)
    assert X["ui_interval"] == pytest.approx(10) and X["ui_overdue"] == pytest.approx(0.5)
    assert X["u_baskets"] == 3 and X["u_days_last"] == pytest.approx(5) and X["u_days_first"] == pytest.approx(25)
    assert X["i_users"] == pytest.approx(np.log1p(2)) and X["i_users_7"] == pytest.approx(np.log1p(2))
    assert X["i_trend"] == pytest.approx(3.0)  # (2 buyers in the last 30 days + 1) / (0 before + 1)
    assert X["i_repeat"] == pytest.approx(0.5) and X["i_age"] == pytest.approx(25)
    Y = dict(zip(FEATURES, s.features(np.array([v]), np.array([b]))[0]))
    assert Y["ui_baskets"] == 0 and Y["ui_share"] == 0
    assert all(np.isnan(Y[k]) for k in ("ui_days_last", "ui_days_first", "ui_interval", "ui_overdue"))
    assert Y["i_repeat"] == 0 and Y["i_users_30"] == pytest.approx(np.log1p(1))


def test_until_keeps_the_id_space():
    enc = encode(validate_interactions(_frame([(0, "u", "A", "view"), (5, "v", "B", "purchase")])))
    early = hybrid.until(enc, enc.t_end)
    assert early.item_ids is enc.item_ids and early.user_ids is enc.user_ids
    assert len(early.u) == 1 and early.t.max() < enc.t_end


@pytest.fixture(scope="module")
def hyb(data):
    inter, items = data
    return api.fit(inter, items, HYB)


def test_the_ranker_learns_in_time_order(data, monkeypatch):
    inter, items = data
    stages = []
    real = hybrid._Stage.fit.__func__

    def spy(cls, enc, *a, **kw):
        stages.append((enc.t.max(), enc.t_end))
        return real(cls, enc, *a, **kw)

    monkeypatch.setattr(hybrid._Stage, "fit", classmethod(spy))
    art = api.fit(inter, items, HYB)
    t_end = art.model.t_end
    day = 86400.0
    assert len(stages) == 3  # two label windows, then the final fit
    for j, (t_max, _) in enumerate(stages[:2]):
        assert t_max < t_end - (j + 1) * 15 * day  # models of window j saw nothing after its labels began
    assert stages[2][0] == t_end
    assert art.hybrid.booster is not None and art.hybrid.ranker_data["windows"] == 2


def test_candidates_are_ranked_by_the_booster_above_everything_else(hyb):
    h = hyb.hybrid
    users = np.array([hyb.user_index["u3"], hyb.user_index["u4"]])
    S = h.score_users(users)
    rows, items, X, fallback = h.stage.candidates_and_features(users)
    b = h.booster.predict(X)
    for r in range(len(users)):
        mine = items[rows == r]
        by_booster = mine[np.argsort(-b[rows == r], kind="stable")]
        by_score = mine[np.argsort(-S[r, mine], kind="stable")]
        assert by_booster.tolist() == by_score.tolist()
        others = np.setdiff1d(np.flatnonzero(np.isfinite(S[r])), mine)
        assert S[r, mine].min() > S[r, others].max()
        assert np.argsort(-S[r, others], kind="stable").tolist() == np.argsort(-fallback[r, others],
                                                                                 kind="stable").tolist()


def test_filters_hold_for_the_served_model(data):
    inter, items = data
    art = api.fit(inter, items, {**HYB, "repeat": False})
    bought = inter[inter["event"] == "purchase"].groupby("user_id")["item_id"].agg(set)
    rec = api.recommend(art, ["u1", "u2", "u5"], k=20)
    for u, g in rec.groupby("user_id"):
        assert not set(g["item_id"]) & bought[u]
    avail = ["sku2", "sku6", "sku10", "sku14", "sku3"]
    rec = api.recommend(art, ["u1", "u2"], k=10, available_items=avail)
    assert set(rec["item_id"]) <= set(avail)
    gone = {"sku2", "sku6"}  # left the catalog at fit time: learned from, never recommended
    art2 = api.fit(inter, items[~items["item_id"].isin(gone)], HYB)
    assert not set(api.recommend(art2, k=40)["item_id"]) & gone
    assert not set(api.similar(art2, k=40)["similar_item_id"]) & gone
    assert not set(api.recommend_for_history(art2, ["sku2", "sku3"], 40)["item_id"]) & gone


def test_sessions_and_unknown_users(hyb):
    live = api.recommend_for_history(hyb, ["sku3", "sku7"], k=5)
    assert list(live["rank"]) == [1, 2, 3, 4, 5] and live["score"].is_monotonic_decreasing
    cold = api.recommend(hyb, ["never-seen"], k=5)
    assert list(cold["item_id"]) == list(api.recommend_for_history(hyb, [], k=5)["item_id"])  # popularity


def test_too_little_data_serves_the_blend(data):
    inter, items = data
    art = api.fit(inter, items, {**HYB, "ranker": {**HYB["ranker"], "min_label_users": 10_000}})
    assert art.hybrid.booster is None
    rec = api.recommend(art, ["u1"], k=5)
    assert len(rec) == 5
    again = api.Artifact.from_bytes(art.to_bytes())
    pd.testing.assert_frame_equal(rec, api.recommend(again, ["u1"], k=5))


def test_round_trip_recommends_identically(hyb):
    again = api.Artifact.from_bytes(hyb.to_bytes())
    assert again.config.model == "hybrid" and again.hybrid.booster is not None
    pd.testing.assert_frame_equal(api.recommend(hyb, k=10), api.recommend(again, k=10))
    pd.testing.assert_frame_equal(api.similar(hyb, k=10), api.similar(again, k=10))
    pd.testing.assert_frame_equal(api.recommend_for_history(hyb, ["sku1"], 5),
                                  api.recommend_for_history(again, ["sku1"], 5))
    assert again.to_bytes() == hyb.to_bytes()


def test_a_version_1_artifact_still_loads(data):
    inter, items = data
    art = api.fit(inter, items, {**TINY, "model": "dnn"})
    state = torch.load(io.BytesIO(art.to_bytes()), weights_only=True)
    state["version"] = 1
    for key in ("model", "tifu", "ranker"):  # fields a version-1 config did not have
        del state["config"][key]
    buf = io.BytesIO()
    torch.save(state, buf)
    old = api.Artifact.from_bytes(buf.getvalue())
    assert old.config.model == "dnn" and old.hybrid is None
    pd.testing.assert_frame_equal(api.recommend(art, k=5), api.recommend(old, k=5))


def test_customers_also_bought_by_hand_then_content():
    # u1 bought A, B; u2 bought A, B, C; u3 bought C. N is in the catalog, nobody bought it yet.
    rows = [(0, "u1", "A"), (0, "u1", "B"), (1, "u2", "A"), (1, "u2", "B"), (1, "u2", "C"), (2, "u3", "C"),
            (3, "u4", "D"), (3, "u5", "D")]
    inter = _frame([(d, u, i, "purchase") for d, u, i in rows])
    items = pd.DataFrame({"item_id": list("ABCDN"), "name": ["red mug", "blue mug", "lamp", "card", "green mug"],
                          "description": "", "category": ["mugs", "mugs", "lamps", "cards", "mugs"],
                          "price": [5, 5, 30, 2, 5]})
    art = api.fit(inter, items, {**TINY, "tifu": {"neighbours": 2}})
    sim = api.similar(art, ["A", "N"], k=4)
    a = sim[sim["item_id"] == "A"]
    # cosine of purchaser sets: A {u1, u2} vs B {u1, u2} = 1, vs C {u2, u3} = 1 / 2; score = 1 + cosine
    assert a["similar_item_id"].tolist()[:2] == ["B", "C"]
    assert a["score"].tolist()[:2] == pytest.approx([2.0, 1.5])
    assert (a["score"].iloc[2:] <= 1).all()  # the rest: content (DNN vectors) only
    n = sim[sim["item_id"] == "N"]
    assert len(n) == 4 and (n["score"] <= 1).all()  # a new item gets content neighbours
    assert api.similar(art, ["A"], k=4, available_items=["C", "D", "N"])["similar_item_id"].tolist()[0] == "C"


def test_progress_counts_every_stage(data):
    inter, items = data
    seen = []
    art = api.fit(inter, items, HYB, progress=lambda step, m: seen.append((step, m)))
    steps = (HYB["ranker"]["windows"] + 1) * TINY["epochs"]
    assert [s for s, _ in seen] == list(range(1, steps + 1))
    assert {m["epochs"] for _, m in seen} == {steps}
    assert [m["stage"] for _, m in seen] == ["window 1/2"] * 2 + ["window 2/2"] * 2 + ["final"] * 2
    assert art.losses == [m["train_loss"] for _, m in seen if m["stage"] == "final"]


@pytest.mark.parametrize("config, message", [
    ({"model": "xgboost"}, r"option .model. must be one of \[.dnn., .hybrid.\]"),
    ({"ranker": {"windows": 0}}, "option 'ranker': ranker: windows must be >= 1"),
    ({"ranker": {"label_events": ["click"]}}, "label_events must be a non-empty list"),
    ({"ranker": {"trees": 5}}, r"option 'ranker': unknown config option.*'trees'"),
    ({"tifu": {"alpha": 2}}, "option 'tifu': TIFU-KNN: alpha must be in"),
    ({"tifu": {"neighbours": "many"}}, "option 'neighbours' must be int"),
])
def test_bad_config_is_named(data, config, message):
    inter, items = data
    with pytest.raises(RecommenderInputError, match=message):
        api.fit(inter, items, config)
