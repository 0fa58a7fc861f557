"""Publishing: checked before anything is written, filtered to what may be shown, swapped atomically, and a failed
publication leaves the live one serving."""
from __future__ import annotations

import pandas as pd
import pytest

from recommender import publish as P
from recommender.models import CustomerRecommendation, ProductRecommendation, Publication
from recommender.results import customer_candidates, related_candidates
from registry import services as registry

pytestmark = pytest.mark.django_db


def frames(cust, prod):
    return (pd.DataFrame(cust, columns=P.CUSTOMER_COLUMNS), pd.DataFrame(prod, columns=P.PRODUCT_COLUMNS))


@pytest.fixture
def version():
    v = registry.create_version("recommender", engine="test")
    registry.promote(v)
    return v


def test_rows_are_filtered_renumbered_and_swapped_in(catalog, user, version):
    c = catalog
    c["l0"].stock = 0
    c["l0"].save()
    cust, prod = frames(
        [(user.pk, 1, c["l0"].pk, .9), (user.pk, 2, c["m1"].pk, .8), (user.pk, 3, c["m1"].pk, .7),
         (user.pk, 4, c["m2"].pk, .6), (999999, 1, c["m1"].pk, .5)],                      # unknown user
        [(c["m0"].pk, 1, c["m0"].pk, .9, "bought"), (c["m0"].pk, 2, c["l1"].pk, .8, "bought"),
         (c["m0"].pk, 3, 10 ** 9, .7, "bought"), (c["m0"].pk, 4, c["m3"].pk, .6, "bought"),
         (c["l2"].pk, 1, c["l3"].pk, .5, "bought")])
    first = P.publish(version, cust, prod)
    assert first.status == "live" and first.n_customers == 1 and first.n_customer_items == 2
    assert customer_candidates(user.pk) == ([c["m1"].pk, c["m2"].pk], version.pk)   # l0 sold out, m1 once
    assert related_candidates(c["m0"].pk)[0] == [c["l1"].pk, c["m3"].pk]             # not itself, not unknown
    (row,) = CustomerRecommendation.objects.filter(publication=first)
    assert row.products == [c["m1"].pk, c["m2"].pk] and row.scores == [0.8, 0.6]
    assert first.n_products == 2 and first.n_product_items == 3
    cust2, prod2 = frames([(user.pk, 1, c["m5"].pk, 1.0)], [(c["m0"].pk, 1, c["m4"].pk, 1.0, "content")])
    second = P.publish(version, cust2, prod2)
    first.refresh_from_db()
    assert first.status == "superseded" and second.status == "live"
    assert customer_candidates(user.pk)[0] == [c["m5"].pk]
    assert related_candidates(c["m0"].pk) == ([c["m4"].pk], version.pk, "content")
    third = P.publish(version, cust2, prod2)
    assert not Publication.objects.filter(pk=first.pk).exists()          # only live + the one before are kept
    assert not CustomerRecommendation.objects.filter(publication_id=first.pk).exists()
    assert set(Publication.objects.values_list("pk", flat=True)) == {second.pk, third.pk}


@pytest.mark.parametrize("change, message", [
    (lambda cu, pr: (cu.drop(columns=["rank"]), pr), "miss column"),
    (lambda cu, pr: (cu.assign(product_id="x"), pr), "not an integer id"),
    (lambda cu, pr: (cu.assign(score=float("nan")), pr), "finite"),
    (lambda cu, pr: (cu, pr.assign(basis="guess")), "unknown basis"),
])
def test_bad_frames_are_refused_and_change_nothing(catalog, user, version, change, message):
    c = catalog
    cust, prod = frames([(user.pk, 1, c["m1"].pk, .9)], [(c["m0"].pk, 1, c["m1"].pk, .9, "bought")])
    live = P.publish(version, cust, prod)
    with pytest.raises(P.PublishError, match=message):
        P.publish(version, *change(cust, prod))
    assert Publication.objects.get(status="live") == live and Publication.objects.count() == 1


def test_a_publication_that_fails_half_way_is_removed_and_the_live_one_keeps_serving(catalog, user, version,
                                                                                      monkeypatch):
    c = catalog
    cust, prod = frames([(user.pk, 1, c["m1"].pk, .9)], [(c["m0"].pk, 1, c["m1"].pk, .9, "bought")])
    live = P.publish(version, cust, prod)
    real = P._write

    def fail_on_products(model, *args):
        if model is ProductRecommendation:
            raise RuntimeError("disk full")
        return real(model, *args)

    monkeypatch.setattr(P, "_write", fail_on_products)
    cust2, prod2 = frames([(user.pk, 1, c["m5"].pk, .9)], [(c["m0"].pk, 1, c["m5"].pk, .9, "bought")])
    with pytest.raises(RuntimeError, match="disk full"):
        P.publish(version, cust2, prod2)
    assert list(Publication.objects.values_list("pk", "status")) == [(live.pk, "live")]
    assert customer_candidates(user.pk)[0] == [c["m1"].pk]
    assert CustomerRecommendation.objects.count() == 1


def test_nothing_publishable_is_an_error(catalog, user, version):
    cust, prod = frames([(user.pk, 1, 10 ** 9, .9)], [])
    with pytest.raises(P.PublishError, match="no recommendation is left"):
        P.publish(version, cust, prod)


def test_the_promotion_and_the_swap_happen_together(catalog, user, version):
    """A training run promotes its version inside the swap: if the promotion is refused (the run was cancelled
    meanwhile), the new rows never go live and the serving version does not change."""
    c = catalog
    live = P.publish(version, *frames([(user.pk, 1, c["m1"].pk, .9)], []))
    run = registry.start_run("recommender")
    registry.claim_run(run.pk)
    candidate = registry.create_version("recommender", run=run)
    registry.cancel_run(run.pk)
    with pytest.raises(registry.RegistryError):
        P.publish(candidate, *frames([(user.pk, 1, c["m5"].pk, .9)], []),
                  on_swap=lambda: registry.promote(candidate, "better"))
    assert list(Publication.objects.values_list("pk", "status")) == [(live.pk, "live")]
    assert registry.serving_version("recommender") == version
    assert customer_candidates(user.pk)[0] == [c["m1"].pk]
