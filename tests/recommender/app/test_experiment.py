"""The A/B split is deterministic by visitor id, has the configured share, and link labels parse strictly."""
import secrets

from recommender import experiment as X


def test_the_split_is_deterministic_and_has_the_configured_share(settings):
    settings.RECOMMENDER_CONTROL_SHARE = 0.10
    ids = [secrets.token_hex(16) for _ in range(20000)]
    arms = [X.arm(v) for v in ids]
    assert arms == [X.arm(v) for v in ids]
    share = arms.count("control") / len(ids)
    assert 0.09 < share < 0.11            # 10 % +- 5 standard errors
    settings.RECOMMENDER_CONTROL_SHARE = 0.0
    assert {X.arm(v) for v in ids[:500]} == {"model"}
    settings.RECOMMENDER_CONTROL_SHARE = 1.0
    assert {X.arm(v) for v in ids[:500]} == {"control"}


def test_a_new_experiment_name_reshuffles_the_visitors(settings):
    settings.RECOMMENDER_CONTROL_SHARE = 0.5
    ids = [secrets.token_hex(16) for _ in range(2000)]
    a = [X.arm(v, experiment="one") for v in ids]
    b = [X.arm(v, experiment="two") for v in ids]
    assert 0.4 < sum(x != y for x, y in zip(a, b)) / len(ids) < 0.6


def test_labels_round_trip_and_anything_else_is_rejected():
    ref = X.Ref("cart", "control", 0, "popular")
    assert X.parse_ref(str(ref)) == ref
    assert X.parse_ref("home.model.12.personal") == X.Ref("home", "model", 12, "personal")
    for bad in ("", None, "home.model.12", "basket.model.1.personal", "home.treatment.1.personal",
                "home.model.1.magic", "home.model.-1.personal", "home.model.1.personal.x"):
        assert X.parse_ref(bad) is None
