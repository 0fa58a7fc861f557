"""Behaviours checked against hand values: NDCG with more relevant items than k; removed items are never
recommended, even when listed as available; events on the train_until day are training data."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recommender.engine import api
from recommender.engine.evaluate import _rank_metrics

from .conftest import TINY


def test_ndcg_with_more_relevant_items_than_k():
    s = np.concatenate([[-np.inf], np.arange(30, 0, -1, dtype=float)])   # item r is ranked r-th
    everything = np.arange(1, 16)                                       # 15 relevant items, k = 10
    hr, ndcg, rec20, rr, auc, top = _rank_metrics(s, everything)
    assert ndcg == pytest.approx(1.0)                                   # the ideal list has only 10 places
    assert rec20 == pytest.approx(15 / 15) and rr == 1.0
    even = np.arange(2, 31, 2)                                          # 15 relevant items at ranks 2, 4, ..., 30
    _, ndcg, rec20, rr, _, _ = _rank_metrics(s, even)
    dcg = sum(1 / np.log2(r + 1) for r in (2, 4, 6, 8, 10))
    idcg = sum(1 / np.log2(r + 1) for r in range(1, 11))
    assert ndcg == pytest.approx(dcg / idcg)
    assert rec20 == pytest.approx(10 / 15) and rr == pytest.approx(1 / 2)


def test_a_removed_item_is_never_recommended_even_when_listed_as_available(data):
    inter, items = data
    gone = {"sku1", "sku5", "sku9", "sku13"}                 # popular in the data (their users' favourites)
    art = api.fit(inter, items[~items["item_id"].isin(gone)], TINY, verbose=False)
    everything = items["item_id"].tolist()                   # a stale stock list still naming them
    users = sorted(set(inter.loc[inter["user_id"] != "", "user_id"]))
    for frame, col in ((api.recommend(art, users, k=40, available_items=everything), "item_id"),
                       (api.predict(art, users, k=40, available_items=everything), "item_id"),
                       (api.recommend_for_history(art, ["sku1", "sku5"], 40, available_items=everything), "item_id"),
                       (api.recommend_for_history(art, [], 40, available_items=everything,
                                                  context_category="lamps"), "item_id"),
                       (api.similar(art, k=40, available_items=everything), "similar_item_id"),
                       (api.similar(art, ["sku0", "sku1"], k=40, available_items=everything), "similar_item_id")):
        assert len(frame) > 0 and not set(frame[col]) & gone
    back = api.Artifact.from_bytes(art.to_bytes())
    assert not set(api.recommend(back, users, k=40, available_items=everything)["item_id"]) & gone


@pytest.mark.parametrize("until", ["2024-02-10", dt.date(2024, 2, 10)])
def test_events_on_the_train_until_day_are_training_data(data, until):
    inter, items = data
    day = inter.copy()
    extra = pd.DataFrame([{"timestamp": f"2024-02-10T{h:02d}:30:00", "user_id": "u0", "item_id": "sku38",
                           "event": "purchase", "quantity": 1, "session_id": ""} for h in range(8, 20)])
    a = api.fit(day, items, TINY, verbose=False, train_until=until)
    b = api.fit(pd.concat([day, extra], ignore_index=True), items, TINY, verbose=False, train_until=until)
    assert a.train_until == b.train_until == "2024-02-10"
    assert "sku38" in set(api.recommend(b, ["u0"], k=3)["item_id"])
    assert not api.recommend(a, ["u0"], k=10).equals(api.recommend(b, ["u0"], k=10))
    next_day = extra.assign(timestamp=extra["timestamp"].str.replace("2024-02-10", "2024-02-11"))
    c = api.fit(pd.concat([day, next_day], ignore_index=True), items, TINY, verbose=False, train_until=until)
    pd.testing.assert_frame_equal(api.recommend(a, k=5), api.recommend(c, k=5))
