import numpy as np
import pandas as pd
import pytest

from recommender.engine import ArtifactError, Config, RecommenderInputError, api

from .conftest import TINY


def test_recommend_shape_and_order(artifact, data):
    inter, _ = data
    rec = api.recommend(artifact, ["u0", "u1"], k=5)
    assert list(rec.columns) == ["user_id", "rank", "item_id", "score"]
    assert rec.groupby("user_id")["rank"].apply(list).tolist() == [[1, 2, 3, 4, 5]] * 2
    assert (rec.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    assert rec["score"].between(0, 1).all()
    every = api.recommend(artifact, k=3)
    users = set(inter.loc[inter["user_id"] != "", "user_id"]) | {"session:s1", "session:s2"}
    assert set(every["user_id"]) == users


def test_artifact_round_trip_recommends_identically(artifact):
    blob = artifact.to_bytes()
    again = api.Artifact.from_bytes(blob)
    pd.testing.assert_frame_equal(api.recommend(artifact, k=10), api.recommend(again, k=10))
    pd.testing.assert_frame_equal(api.similar(artifact, k=5), api.similar(again, k=5))
    pd.testing.assert_frame_equal(api.recommend_for_history(artifact, ["sku3", "sku7"], 5),
                                  api.recommend_for_history(again, ["sku3", "sku7"], 5))
    assert again.to_bytes() == blob or len(again.to_bytes()) == len(blob)


def test_bad_artifact_bytes():
    with pytest.raises(ArtifactError, match="not a recommender artifact"):
        api.Artifact.from_bytes(b"definitely not a model")


def test_fixed_seed_is_deterministic(data):
    inter, items = data
    a = api.fit(inter, items, TINY, verbose=False)
    b = api.fit(inter, items, TINY, verbose=False)
    pd.testing.assert_frame_equal(api.recommend(a, k=5), api.recommend(b, k=5))


def test_items_no_longer_in_catalog_are_never_recommended(data):
    inter, items = data
    # sku0..sku9 were sold but have left the catalog: they are learned from, never recommended
    gone = {f"sku{k}" for k in range(10)}
    art = api.fit(inter, items[~items["item_id"].isin(gone)], TINY, verbose=False)
    rec = api.recommend(art, k=40)
    assert not (set(rec["item_id"]) & gone)
    assert not (set(api.recommend_for_history(art, ["sku0", "sku1"], 40)["item_id"]) & gone)
    assert not (set(api.similar(art, k=40)["similar_item_id"]) & gone)
    assert not (set(api.similar(art, k=40)["item_id"]) & gone)


def test_available_items_restricts_recommendations(artifact):
    avail = ["sku3", "sku7", "sku11", "not-a-known-item"]
    rec = api.recommend(artifact, k=10, available_items=avail)
    assert set(rec["item_id"]) <= set(avail[:3])
    assert rec.groupby("user_id").size().max() == 3
    live = api.recommend_for_history(artifact, ["sku1"], 10, available_items=avail)
    assert set(live["item_id"]) <= set(avail[:3])
    sim = api.similar(artifact, ["sku1"], 10, available_items=avail)
    assert set(sim["similar_item_id"]) <= set(avail[:3])


def test_exclude_per_user_and_global(artifact):
    top = api.recommend(artifact, ["u0"], k=3)["item_id"].tolist()
    rec = api.recommend(artifact, ["u0"], k=3, exclude={"u0": top})
    assert not set(rec["item_id"]) & set(top)
    rec = api.recommend(artifact, ["u0", "u1"], k=3, exclude=top[:1])
    assert top[0] not in set(rec["item_id"])


def test_repeat_false_never_recommends_purchased(data):
    inter, items = data
    art = api.fit(inter, items, {**TINY, "repeat": False}, verbose=False)
    rec = api.recommend(art, k=30)
    bought = inter[inter["event"] == "purchase"].groupby("user_id")["item_id"].agg(set)
    for uid, g in rec.groupby("user_id"):
        assert not set(g["item_id"]) & bought.get(uid, set())


def test_new_user_and_unknown_items_get_popular_in_context(artifact):
    pop = api.recommend_for_history(artifact, [], 5)
    assert len(pop) == 5
    assert api.recommend_for_history(artifact, ["never-seen"], 5)["item_id"].tolist() == pop["item_id"].tolist()
    lamps = api.recommend_for_history(artifact, [], 5, context_category="lamps")
    cat = dict(zip(artifact.item_ids, artifact.content.category))
    lamp_idx = artifact.content.categories.index("lamps")
    assert all(cat[i] == lamp_idx for i in lamps["item_id"])
    unknown_user = api.recommend(artifact, ["brand-new-user"], k=5)
    assert unknown_user["item_id"].tolist() == pop["item_id"].tolist()


def test_recommend_for_history_follows_the_session(artifact):
    rec = api.recommend_for_history(artifact, ["sku1", "sku5", "sku9"], 10, exclude_seen=True)
    assert len(rec) == 10
    assert not {"sku1", "sku5", "sku9"} & set(rec["item_id"])


def test_new_items_get_content_neighbours(data):
    inter, items = data
    extra = pd.DataFrame({"item_id": ["new-lamp"], "name": ["lamp model new"], "description": ["a lovely lamp in colour red"],
                          "category": ["lamps"], "price": [5.0]})
    art = api.fit(inter, pd.concat([items, extra], ignore_index=True), {**TINY, "epochs": 4}, verbose=False)
    sim = api.similar(art, ["new-lamp"], 5)
    assert len(sim) == 5
    cats = dict(zip(items["item_id"], items["category"]))
    assert sum(cats[s] == "lamps" for s in sim["similar_item_id"]) >= 3


def test_progress_callback_and_losses(data):
    inter, items = data
    seen = []
    art = api.fit(inter, items, {**TINY, "epochs": 3, "model": "dnn"},
                  progress=lambda e, l: seen.append((e, l["loss"])), verbose=False)
    assert [e for e, _ in seen] == [1, 2, 3]
    assert all(np.isfinite(l) for _, l in seen)
    assert art.losses == [l for _, l in seen]


def test_image_features_are_used(data):
    inter, items = data
    rng = np.random.default_rng(0)
    feats = {iid: rng.normal(size=8) for iid in items["item_id"][:30]}
    art = api.fit(inter, items, TINY, image_features=feats, verbose=False)
    assert art.content.image.shape == (len(art.item_ids), 9)
    again = api.Artifact.from_bytes(art.to_bytes())
    pd.testing.assert_frame_equal(api.recommend(art, k=5), api.recommend(again, k=5))


def test_bad_k(artifact):
    with pytest.raises(RecommenderInputError, match="k must be a positive integer"):
        api.recommend(artifact, ["u0"], k=0)


def test_config_defaults():
    assert Config().repeat is True
    assert Config.from_dict({"epochs": 3}).epochs == 3
