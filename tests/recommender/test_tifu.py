"""TIFU-KNN: baskets, the time-decayed user vector, neighbours and the prediction, against values computed by
hand; its validation search; and its place in the evaluation protocol."""
import numpy as np
import pandas as pd
import pytest

from recommender.engine import RecommenderInputError
from recommender.engine.data import encode, validate_interactions, validate_items
from recommender.engine.evaluate import evaluate, prepare
from recommender.engine.search import coordinate_search, tune_tifu
from recommender.engine.tifu import TIFUKNN, TifuParams, baskets, nearest, user_vectors

T0 = pd.Timestamp("2024-01-01")


def _enc(rows):
    """rows: (day, user, item[, event][, minutes]) -> Encoded"""
    out = []
    for r in rows:
        day, user, item = r[:3]
        event = r[3] if len(r) > 3 else "purchase"
        minutes = r[4] if len(r) > 4 else 0
        out.append((T0 + pd.Timedelta(days=day, minutes=minutes), user, item, event))
    df = pd.DataFrame(out, columns=["timestamp", "user_id", "item_id", "event"])
    return encode(validate_interactions(df))


def _vec(model_or_matrix, enc, user):
    V = model_or_matrix.V if hasattr(model_or_matrix, "V") else model_or_matrix
    row = np.asarray(V[enc.user_index[user]].todense()).ravel()
    return {enc.item_ids[j]: pytest.approx(float(row[j])) for j in np.flatnonzero(row)}


# five baskets of one customer, oldest first: {A}, {A, B}, {B}, {A, C}, {C}
FIVE_BASKETS = [(0, "u", "A"), (1, "u", "A"), (1, "u", "B"), (2, "u", "B"), (3, "u", "A"), (3, "u", "C"), (4, "u", "C")]


def test_user_vector_by_hand():
    """m = 2 from the newest: groups {b5, b4}, {b3, b2}, {b1} (the oldest group is short).
    g0 = (1 * b5 + 0.5 * b4) / 2 -> A 0.25, C 0.75;  g1 = (b3 + 0.5 * b2) / 2 -> A 0.25, B 0.75;  g2 = b1 -> A 1
    v = (g0 + 0.8 * g1 + 0.64 * g2) / 3 -> A (0.25 + 0.2 + 0.64) / 3, B 0.6 / 3, C 0.75 / 3."""
    enc = _enc(FIVE_BASKETS)
    bk = baskets(enc, gap_hours=1.0)
    assert len(bk.user) == 5 and sorted(bk.from_end.tolist()) == [0, 1, 2, 3, 4]
    V = user_vectors(bk, enc.n_users, enc.n_items, group_size=2, within_decay=0.5, group_decay=0.8)
    assert _vec(V, enc, "u") == {"A": 1.09 / 3, "B": 0.2, "C": 0.25}


def test_no_decay_and_one_group_is_the_mean_basket():
    enc = _enc(FIVE_BASKETS)
    V = user_vectors(baskets(enc, 1.0), enc.n_users, enc.n_items, group_size=10, within_decay=1.0, group_decay=1.0)
    assert _vec(V, enc, "u") == {"A": 3 / 5, "B": 2 / 5, "C": 2 / 5}


def test_baskets_split_on_the_gap_and_keep_the_strongest_event():
    # one visit: view A, cart A, purchase B within 50 minutes; the next day a view of A
    enc = _enc([(0, "u", "A", "view", 0), (0, "u", "A", "cart", 20), (0, "u", "B", "purchase", 50),
                (1, "u", "A", "view", 0)])
    bk = baskets(enc, gap_hours=1.0)
    assert len(bk.user) == 2
    first = bk.from_end == 1
    entries = {(enc.item_ids[i], w) for b, i, w in zip(bk.entry_basket, bk.entry_item, bk.entry_weight) if first[b]}
    assert entries == {("A", 0.5), ("B", 1.0)}  # A counted once, as the cart (0.5 > view 0.2)
    assert len(baskets(enc, gap_hours=0.1).user) == 4  # 20-minute gaps now cut
    V = user_vectors(bk, enc.n_users, enc.n_items, group_size=1, within_decay=1.0, group_decay=0.5)
    # two groups of one basket: (1 * {A: 0.2} + 0.5 * {A: 0.5, B: 1}) / 2
    assert _vec(V, enc, "u") == {"A": (0.2 + 0.25) / 2, "B": 0.25}


def test_neighbours_and_prediction_by_hand():
    # u1 and u2 both bought X and Y; u3 bought only Z; u4 bought X and Z
    enc = _enc([(0, "u1", "X"), (0, "u1", "Y"), (0, "u2", "X"), (0, "u2", "Y"), (1, "u2", "W"), (0, "u3", "Z"),
                (0, "u4", "X"), (0, "u4", "Z")])
    m = TIFUKNN(group_size=1, within_decay=1.0, group_decay=1.0, neighbours=1, alpha=0.6).fit(enc)
    u = {x: enc.user_index[x] for x in ("u1", "u2", "u3", "u4")}
    # vectors: u1 {X: 1, Y: 1}; u2 (2 baskets) {X: .5, Y: .5, W: .5}; u3 {Z: 1}; u4 {X: 1, Z: 1}
    # squared distances from u1: u2 .25+.25+.25 = .75, u3 1+1+1 = 3, u4 0+1+1 = 2 -> nearest u2
    assert m.nbrs[u["u1"], 0] == u["u2"]
    P = m.predict_vectors(np.array([u["u1"]]))[0]
    got = {enc.item_ids[j]: P[j] for j in np.flatnonzero(P)}
    assert got == pytest.approx({"X": 0.6 * 1 + 0.4 * 0.5, "Y": 0.6 * 1 + 0.4 * 0.5, "W": 0.4 * 0.5})
    # the user is never their own neighbour, and ties go to the lower user index
    assert all(m.nbrs[k, 0] != k for k in u.values())
    S = m.score(np.array([u["u1"]]))[0]
    assert S[enc.item_index["Z"]] < 0 < S[enc.item_index["W"]]  # never pointed at: below, by popularity


def test_cosine_metric_and_ties():
    import scipy.sparse as sp

    V = sp.csr_matrix(np.array([[0, 0, 0], [1, 0, 0], [5, 0, 0], [0, 1, 0], [1, 1, 0]], np.float32))
    has = np.diff(V.indptr) > 0
    # from user 1: squared distances 16 (user 2), 2 (user 3), 1 (user 4); cosines 1, 0, 0.71
    assert nearest(V, V, 2, "euclidean", self_index=np.arange(5), candidates=has)[1].tolist() == [4, 3]
    assert nearest(V, V, 2, "cosine", self_index=np.arange(5), candidates=has)[1].tolist() == [2, 4]
    # user 0 has no vector: nobody's neighbour
    assert 0 not in nearest(V, V, 3, "euclidean", self_index=np.arange(5), candidates=has)
    # equal distances: the lower index first
    T = sp.csr_matrix(np.array([[0, 0], [1, 0], [2, 0], [1, 1]], np.float32))
    assert nearest(T, T, 1, "euclidean", self_index=np.arange(4), candidates=np.diff(T.indptr) > 0)[1].tolist() == [2]


def test_sessions_are_one_basket_with_neighbours_among_customers():
    enc = _enc([(0, "u1", "X"), (0, "u1", "Y"), (0, "u2", "Z")])
    m = TIFUKNN(group_size=1, within_decay=1.0, group_decay=1.0, neighbours=1, alpha=0.5).fit(enc)
    P = m.predict_vectors(histories=[[enc.item_index["X"]]], event="purchase")[0]
    # the session {X: 1} is nearest to u1 (distance 1 vs 2): P = .5 * {X: 1} + .5 * {X: 1, Y: 1}
    assert P[enc.item_index["X"]] == pytest.approx(1.0) and P[enc.item_index["Y"]] == pytest.approx(0.5)
    assert P[enc.item_index["Z"]] == 0


def test_state_round_trip_scores_identically():
    enc = _enc(FIVE_BASKETS + [(0, "v", "A"), (2, "v", "C")])
    m = TIFUKNN(neighbours=1).fit(enc)
    again = TIFUKNN.from_state(m.state())
    users = np.arange(enc.n_users)
    np.testing.assert_array_equal(m.score(users), again.score(users))


@pytest.mark.parametrize("bad, field", [({"group_size": 0}, "group_size"), ({"within_decay": 1.5}, "within_decay"),
                                        ({"alpha": -0.1}, "alpha"), ({"metric": "manhattan"}, "metric"),
                                        ({"neighbors": 5}, r"unknown config option.*'neighbors'")])
def test_bad_settings_are_named(bad, field):
    with pytest.raises(RecommenderInputError, match=field):
        TifuParams.from_dict(bad)


def test_coordinate_search_finds_the_best_of_a_separable_objective():
    calls = []

    def f(p):
        calls.append(dict(p))
        return -(p["a"] - 2) ** 2 - (p["b"] - 30) ** 2

    best, val, trials = coordinate_search({"a": [0, 1, 2, 3], "b": [10, 20, 30]}, {"a": 0, "b": 10}, f)
    assert best == {"a": 2, "b": 30} and val == 0
    assert len(calls) == len({repr(sorted(c.items())) for c in calls}) == len(trials)  # memoised


def test_tune_tifu_uses_validation_only(data):
    inter, items = data
    inter, items = validate_interactions(inter), validate_items(items)
    val = prepare(inter, items, "2024-02-01", "2024-02-15")
    space = {"group_size": [1, 3], "alpha": [0.5, 1.0], "neighbours": [5, 10]}
    best, res, trials = tune_tifu(val, True, space=space)
    assert res["NDCG@10"] == max(v for _, v in trials)
    assert res["NDCG@10"] == pytest.approx(evaluate(TIFUKNN(**best).fit(val.enc), val, True)["NDCG@10"])
