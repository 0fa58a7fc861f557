"""The recommender's offline metrics (evaluate.py: _rank_metrics and evaluate) against values computed by hand on
tiny score tables: ties, excluded items, items the user already had, coverage, new@10 and batching."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from recommender.engine.evaluate import EvalSet, Prepared, _rank_metrics, evaluate

INF = np.inf


class Table:
    """A scorer that returns fixed scores per user (row index = user)."""

    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=float)
        self.calls = 0

    def score(self, users, histories=None):
        self.calls += 1
        return self.scores[np.asarray(users)].copy()


def prepared(targets, seen, n_items):
    users = np.arange(len(targets))
    ev = EvalSet("user", users, None, [np.array(t, np.int64) for t in targets],
                 [np.array(s, np.int64) for s in seen])
    return Prepared(SimpleNamespace(n_items=n_items), None, ev)


def test_rank_metrics_with_a_tie_and_a_target_outside_the_top_twenty():
    # 24 real items (index 0 is padding); item k scores 100 - k, but items 3 and 4 tie for places 3 and 4
    s = np.concatenate([[-INF], 100.0 - np.arange(1, 25)])
    s[4] = s[3]
    hr, ndcg, rec20, rr, auc, top = _rank_metrics(s, np.array([4, 3, 22]))
    assert hr == 1.0 and sorted(top) == list(range(1, 11)) and list(top[:2]) == [1, 2]
    assert ndcg == pytest.approx((1 / np.log2(4) + 1 / np.log2(5)) / (1 + 1 / np.log2(3) + 1 / np.log2(4)))
    assert rec20 == pytest.approx(2 / 3)  # item 22 is not in the top 20
    assert rr == pytest.approx(1 / 3.5)  # the best targets tie for places 3 and 4: their mean rank
    # 21 negatives: items 3 and 4 beat 19 of them, item 22 beats 2 (items 23, 24)
    assert auc == pytest.approx((19 / 21 + 19 / 21 + 2 / 21) / 3)


def test_a_target_tied_with_a_non_target_counts_half_a_win():
    hr, ndcg, rec20, rr, auc, top = _rank_metrics(np.array([-INF, 2.0, 2.0, 1.0]), np.array([1]))
    assert auc == pytest.approx((1 + 0.5) / 2) and rr == pytest.approx(1 / 1.5)


def test_rank_metrics_leave_out_excluded_items():
    s = np.array([-INF, 3.0, -INF, 1.0, 2.0])  # item 2 is excluded (already had, or not for sale)
    hr, ndcg, rec20, rr, auc, top = _rank_metrics(s, np.array([3]))
    assert list(top) == [1, 4, 3] and hr == 1.0 and rec20 == 1.0
    assert ndcg == pytest.approx(1 / np.log2(4)) and rr == pytest.approx(1 / 3)
    assert auc == pytest.approx(0.0)  # below both valid negatives; the excluded item is no negative
    miss = _rank_metrics(s, np.array([2]))  # a target that was excluded: never found
    assert miss[0] == 0.0 and miss[1] == 0.0 and miss[2] == 0.0
    only = _rank_metrics(np.array([-INF, 1.0, 2.0]), np.array([1, 2]))  # every item is a target: no negatives
    assert math.isnan(only[4]) and only[0] == 1.0 and only[1] == pytest.approx(1.0)


def test_evaluate_averages_rows_and_counts_coverage_and_new_items():
    scores = [[9, 5, 4, 3, 2, 1, -INF],      # user 0: list 1..5; item 6 is not for sale
              [9, 1, 2, 3, 4, 5, -INF]]      # user 1: list 5..1
    prep = prepared(targets=[[2], [5, 1]], seen=[[1], [5]], n_items=7)
    r = evaluate(Table(scores), prep, repeat=True)
    # user 0: target 2 ranked 2nd; user 1: targets 5 (1st) and 1 (5th)
    ndcg0 = (1 / np.log2(3)) / 1
    ndcg1 = (1 + 1 / np.log2(6)) / (1 + 1 / np.log2(3))
    assert r["n"] == 2 and r["HR@10"] == 1.0
    assert r["NDCG@10"] == pytest.approx((ndcg0 + ndcg1) / 2)
    assert r["Recall@20"] == 1.0 and r["MRR"] == pytest.approx((1 / 2 + 1) / 2)
    # AUC: user 0's target beats 3 of 4 negatives; user 1's targets beat 3/3 and 0/3
    assert r["AUC"] == pytest.approx((3 / 4 + (1 + 0) / 2) / 2)
    assert r["coverage"] == pytest.approx(5 / 6)  # items 1..5 shown, 6 never
    assert r["new@10"] == pytest.approx((4 / 5 + 4 / 5) / 2)  # each list shows one item the user had


def test_without_repeats_items_already_had_are_neither_targets_nor_shown():
    scores = [[9, 5, 4, 3, 2, 1, -INF],
              [9, 1, 2, 3, 4, 5, -INF]]
    prep = prepared(targets=[[2], [5, 1]], seen=[[1], [5]], n_items=7)
    r = evaluate(Table(scores), prep, repeat=False, per_row=True)
    # user 0: list 2, 3, 4, 5: target 2 first. user 1: target 1 only, list 4, 3, 2, 1: 4th
    assert r["n"] == 2 and r["HR@10"] == 1.0 and r["new@10"] == 1.0
    assert r["MRR"] == pytest.approx((1 + 1 / 4) / 2)
    assert list(r["NDCG@10_rows"]) == pytest.approx([1.0, 1 / np.log2(5)])
    assert r["coverage"] == pytest.approx(5 / 6)  # item 1 is still shown to user 1, item 5 to user 0
    only_seen = prepared(targets=[[1]], seen=[[1]], n_items=7)  # nothing left to find: the row is left out
    empty = evaluate(Table(scores), only_seen, repeat=False, per_row=True)
    assert empty["n"] == 0 and math.isnan(empty["NDCG@10"]) and math.isnan(empty["HR@10"])
    assert len(empty["NDCG@10_rows"]) == 0 and empty["coverage"] == 0.0


def test_the_padding_item_is_never_recommended_and_batches_change_nothing():
    scores = np.array([[99.0, 1, 2, 3], [99.0, 3, 2, 1], [99.0, 2, 3, 1]])
    prep = prepared(targets=[[1], [1], [1]], seen=[[], [], []], n_items=4)
    one = Table(scores)
    whole = evaluate(one, prep, repeat=True)
    assert one.calls == 1 and whole["MRR"] == pytest.approx((1 / 3 + 1 + 1 / 2) / 3)
    assert whole["coverage"] == 1.0 and whole["new@10"] == 1.0
    small = Table(scores)
    batched = evaluate(small, prep, repeat=True, batch=2)
    assert small.calls == 2 and batched == whole
    assert "NDCG@10_rows" not in whole
