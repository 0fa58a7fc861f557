import pandas as pd
import pytest

from recommender.engine import RecommenderInputError, api
from recommender.engine.data import validate_interactions, validate_items

from .conftest import TINY


def test_unknown_event_type_names_the_value(data):
    inter, items = data
    bad = inter.copy()
    bad.loc[3, "event"] = "wishlist"
    with pytest.raises(RecommenderInputError, match=r"unknown event type.*wishlist.*view, cart, purchase"):
        api.fit(bad, items, TINY)


def test_missing_interaction_column_is_named(data):
    inter, items = data
    with pytest.raises(RecommenderInputError, match=r"missing required column\(s\) event"):
        validate_interactions(inter.drop(columns=["event"]))


def test_missing_item_columns_are_named(data):
    inter, items = data
    with pytest.raises(RecommenderInputError, match=r"items are missing required column\(s\) category, price"):
        api.fit(inter, items.drop(columns=["category", "price"]), TINY)


def test_empty_input():
    empty = pd.DataFrame(columns=["timestamp", "user_id", "item_id", "event"])
    with pytest.raises(RecommenderInputError, match="empty"):
        api.fit(empty, None, TINY)


def test_unreadable_timestamp_and_bad_price(data):
    inter, items = data
    bad = inter.copy()
    bad.loc[0, "timestamp"] = "yesterday-ish"
    with pytest.raises(RecommenderInputError, match="unreadable timestamp"):
        validate_interactions(bad)
    badp = items.astype({"price": object}).copy()
    badp.loc[0, "price"] = "cheap"
    with pytest.raises(RecommenderInputError, match="non-numeric price.*cheap"):
        validate_items(badp)


def test_anonymous_rows_need_a_session():
    df = pd.DataFrame({"timestamp": ["2024-01-01"], "user_id": [""], "item_id": ["a"], "event": ["view"]})
    with pytest.raises(RecommenderInputError, match="no session_id column"):
        validate_interactions(df)
    df["session_id"] = ["s9"]
    out = validate_interactions(df)
    assert out["user_id"].tolist() == ["session:s9"]


def test_cancellations_with_non_positive_quantity_are_ignored():
    df = pd.DataFrame({"timestamp": ["2024-01-01", "2024-01-02"], "user_id": ["u", "u"], "item_id": ["a", "b"],
                       "event": ["purchase", "purchase"], "quantity": ["2", "-2"]})
    assert validate_interactions(df)["item_id"].tolist() == ["a"]


def test_unknown_config_option(data):
    inter, items = data
    with pytest.raises(RecommenderInputError, match="unknown config option.*epoch_count"):
        api.fit(inter, items, {"epoch_count": 3})
