"""The engine on its own: no Django, no database."""
import csv
import subprocess
import sys
from decimal import Decimal

import pytest

from chatbot.engine import (ArtifactError, CatalogIndex, CatalogItem, ChatInputError, IntentClassifier, OUT_OF_SCOPE,
                            group_texts)
from chatbot.engine.entities import order_numbers, ordinal_choice, parse_price_range
from tests.conftest import ROOT

PHRASES = {
    "price": ["how much is it", "what does it cost", "price please", "how expensive is this", "what's the price",
              "cost of the lamp", "how much for the mug", "is it on sale", "price of the tee", "how much money"],
    "stock": ["is it in stock", "do you have it", "is it available", "how many are left", "is it sold out",
              "when is it back in stock", "any left", "can I still buy it", "stock please", "is the lamp available"],
    "bye": ["bye", "goodbye", "see you", "bye bye", "see you later", "cya", "farewell", "good night", "later",
            "have a nice day"],
    OUT_OF_SCOPE: ["what's the weather", "tell me a joke", "who is the president", "capital of france",
                   "play music", "cook pasta", "how tall is everest", "write a poem", "what time is it",
                   "translate this"],
}


def _data():
    texts, intents = [], []
    for intent, phrases in PHRASES.items():
        texts += phrases
        intents += [intent] * len(phrases)
    return texts, intents


def test_tfidf_classifier_learns_intents_and_rejects_out_of_scope():
    clf = IntentClassifier.fit(*_data(), {"kind": "tfidf", "validation_fraction": 0.3})
    preds = clf.predict(["how much is the harbor lamp", "is the mug in stock", "bye for now",
                         "what's the weather like in paris"])
    assert [p.intent for p in preds] == ["price", "stock", "bye", OUT_OF_SCOPE]
    assert 0 <= clf.threshold <= 1 and "accuracy" in clf.metrics and "oos_rejection" in clf.metrics


def test_artifact_round_trips_and_a_corrupt_one_is_refused():
    clf = IntentClassifier.fit(*_data(), {"kind": "tfidf", "validation_fraction": 0})
    blob = clf.to_bytes()
    again = IntentClassifier.from_bytes(blob)
    assert again.labels == clf.labels and again.threshold == clf.threshold
    assert again.predict(["how much is it"])[0].intent == "price"
    with pytest.raises(ArtifactError, match="checksum"):
        IntentClassifier.from_bytes(blob[:-10] + b"0123456789")
    with pytest.raises(ArtifactError, match="bad header"):
        IntentClassifier.from_bytes(b"not a model")


def test_bad_examples_name_the_problem():
    with pytest.raises(ChatInputError, match="row 2 has an empty text"):
        IntentClassifier.fit(["hi", " ", "bye"], ["a", "a", "b"])
    with pytest.raises(ChatInputError, match="at least two intents"):
        IntentClassifier.fit(["hi", "hello"], ["a", "a"])
    with pytest.raises(ChatInputError, match="unknown config"):
        IntentClassifier.fit(*_data(), {"colour": "blue"})


def test_cli_fit_and_predict(tmp_path):
    examples = tmp_path / "examples.csv"
    with examples.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "intent"])
        w.writerows(zip(*_data()))
    questions = tmp_path / "questions.csv"
    questions.write_text("id,text\n1,how much does it cost\n2,see you later\n3,who won the football\n")
    model, out = tmp_path / "m" / "model.bin", tmp_path / "answers.csv"
    run = subprocess.run([sys.executable, "-m", "chatbot.engine", "fit", "--examples", str(examples), "--out",
                          str(model)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert '"accuracy"' in run.stdout and model.exists()
    run = subprocess.run([sys.executable, "-m", "chatbot.engine", "predict", "--model", str(model), "--in",
                          str(questions), "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert [r["intent"] for r in rows] == ["price", "bye", OUT_OF_SCOPE]
    assert all(0 <= float(r["confidence"]) <= 1 for r in rows)


def test_cli_input_errors_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("question,label\nhi,greeting\n")
    run = subprocess.run([sys.executable, "-m", "chatbot.engine", "fit", "--examples", str(bad), "--out",
                          str(tmp_path / "m.bin")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "lacks the column(s) ['text', 'intent']" in run.stderr
    assert "Traceback" not in run.stderr
    run = subprocess.run([sys.executable, "-m", "chatbot.engine", "predict", "--model", str(tmp_path / "none.bin"),
                          "--in", str(bad), "--out", str(tmp_path / "o.csv")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "file not found" in run.stderr


CATALOG = [
    CatalogItem(1, "Harbor Lamp", "DS-0001", "Lamps", "Home", {"colour": "blue", "material": "steel"}),
    CatalogItem(2, "Harbor Mug", "DS-0002", "Mugs", "Home", {"colour": "red", "material": "stoneware"}),
    CatalogItem(3, "Harbor Lamp 2", "DS-0003", "Lamps", "Home", {"colour": "red", "material": "steel"}),
    CatalogItem(4, "Willow Tee", "DS-0004", "T-Shirts", "Apparel",
                {"colour": "red", "material": "cotton", "sizes": "XS,S,M,L,XL"}),
    CatalogItem(5, "Summit Cap", "DS-0005", "Hats", "Accessories",
                {"colour": "black", "material": "cotton twill", "sizes": "S/M,L/XL"}),
    CatalogItem(6, "Willow Mug", "DS-0006", "Mugs", "Home", {"colour": "blue", "material": "stoneware"}),
    CatalogItem(7, "Cedar Notebook", "DS-0007", "Notebooks", "Stationery", {"colour": "green"}),
    CatalogItem(8, "Maple Notebook", "DS-0008", "Notebooks", "Stationery", {"colour": "white"}),
] + [  # like a real catalog, many products share a noun: the adjective is what tells them apart
    CatalogItem(100 + k, f"{adj} {noun}", f"F-{k}", cat, "Home", {})
    for k, (adj, (noun, cat)) in enumerate(
        (a, n) for a in ["Aurora", "Nordic", "Delta", "Ember", "Fjord", "Iris"]
        for n in [("Lamp", "Lamps"), ("Mug", "Mugs"), ("Tee", "T-Shirts"), ("Cap", "Hats"), ("Notebook", "Notebooks")])
]


@pytest.mark.parametrize("text, expected", [
    ("how much is the harbor lamp?", 1),
    ("HOW MUCH IS THE HARBOUR LAMP", 1),  # case and a British spelling (one edit)
    ("price of the wilow tees", 4),  # a typo and a plural
    ("is the summit cap in stock", 5),
    ("harbor lamp 2 price", 3),  # the longer complete name wins
    ("is DS-0006 available", 6),  # by SKU
    ("do you have the cedar notebook", 7),
])
def test_product_names_match_fuzzily(text, expected):
    ents = CatalogIndex(CATALOG).extract(text)
    assert ents.product == expected


def test_several_fitting_products_are_all_offered():
    ents = CatalogIndex(CATALOG).extract("how much is the willow?")
    assert ents.product is None and {m.id for m in ents.products} == {4, 6}


def test_a_category_word_alone_is_not_a_product():
    ents = CatalogIndex(CATALOG).extract("red mugs under 20")
    assert ents.products == [] and ents.categories == ["Mugs"]
    assert ents.attributes == {"colour": "red"} and ents.max_price == Decimal("20")


def test_filters_sizes_and_materials():
    ix = CatalogIndex(CATALOG)
    ents = ix.extract("cotton tees in M")
    assert ents.attributes == {"sizes": "M", "material": "cotton"}
    assert ix.extract("does the summit cap come in L/XL").attributes["sizes"] == "L/XL"
    assert "sizes" not in ix.extract("I'm looking for a mug").attributes  # "m" in "I'm" is not a size
    assert ix.extract("what sizes does the willow tee come in").attribute_keys == ["sizes"]


@pytest.mark.parametrize("text, lo, hi", [
    ("mugs under 20", None, "20"), ("below €15.50", None, "15.50"), ("between 10 and 30 euros", "10", "30"),
    ("lamps from 40 to 60", "40", "60"), ("over 50 EUR", "50", None), ("tees 10-20", "10", "20"),
    ("harbor lamp 2", None, None)])
def test_price_ranges(text, lo, hi):
    got = parse_price_range(text)
    assert got == (Decimal(lo) if lo else None, Decimal(hi) if hi else None)


def test_order_numbers_and_choices():
    assert order_numbers("where is order 261122-8F3A01BC?") == ["261122-8F3A01BC"]
    assert order_numbers("track #DEMO-0000123 please") == ["DEMO-0000123"]
    assert order_numbers("mugs under 2000") == ["2000"] or order_numbers("mugs under 20") == []
    assert order_numbers("mugs under 20") == []
    assert ordinal_choice("the second one", 3) == 1 and ordinal_choice("2", 3) == 1
    assert ordinal_choice("last", 3) == 2 and ordinal_choice("the fifth", 3) is None


def test_mask_replaces_product_names_only():
    ix = CatalogIndex(CATALOG)
    assert ix.mask("is the Harbour Lamp in stock?") == "is the product in stock?"
    assert ix.mask("how many willow tees are left") == "how many product are left"
    assert ix.mask("red mugs under 20") == "red mugs under 20"


def test_grouping_puts_paraphrases_together():
    texts = ["do you sell gift cards", "Do you sell gift cards?", "can I buy a gift card", "gift cards available?",
             "do you have a loyalty programme", "loyalty program?", "is there a loyalty programme",
             "what's your phone number"]
    groups = group_texts(texts)
    sets = [{texts[k].lower().rstrip("?") for k in g.members} for g in groups]
    assert sets[0] == {"do you sell gift cards", "can i buy a gift card", "gift cards available"}
    assert {"do you have a loyalty programme", "loyalty program", "is there a loyalty programme"} in sets
    assert len(groups[0].members) == 4  # the repeated question counts twice
    assert group_texts([]) == [] and len(group_texts(["only one"])) == 1


class _CountingEncoder:
    """A stand-in sentence encoder (hashed bag of words, unit length) that counts its calls."""

    id = "counting"

    def __init__(self):
        self.calls = 0

    def encode(self, texts, batch_size=64, **_):
        import numpy as np

        self.calls += 1
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for k, t in enumerate(texts):
            for w in t.split():
                out[k, sum(map(ord, w)) % 16] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


@pytest.mark.parametrize("kind", ["tfidf", "embedding"])
def test_one_question_gives_the_probabilities_of_predict(kind):
    """predict_one (the chat's path, without scikit-learn's per-call machinery) and predict agree."""
    import numpy as np

    encoder = _CountingEncoder() if kind == "embedding" else None
    clf = IntentClassifier.fit(*_data(), {"kind": kind, "validation_fraction": 0}, encoder=encoder)
    questions = ["how much is the harbor lamp", "IS IT IN STOCK???", "bye for now", "what's the weather",
                 "zzz qqq", "", "price 0 0 0 of the 12 mugs"]
    for q in questions:
        one, ref = clf.predict_one(q), clf.predict([q], alternatives=2)[0]
        assert (one.intent, one.best_intent) == (ref.intent, ref.best_intent)
        assert abs(one.confidence - ref.confidence) < 1e-6
        assert [a for a, _ in one.alternatives] == [a for a, _ in ref.alternatives]
        np.testing.assert_allclose([p for _, p in one.alternatives], [p for _, p in ref.alternatives], atol=1e-6)


def test_a_question_asked_again_is_answered_from_memory():
    encoder = _CountingEncoder()
    clf = IntentClassifier.fit(*_data(), {"kind": "embedding", "validation_fraction": 0}, encoder=encoder)
    clf.memo_size = 2
    first = clf.predict_one("is it in stock")
    calls = encoder.calls
    again = clf.predict_one("Is it  in stock")  # the same after normalisation: no encoder run
    assert encoder.calls == calls and (again.intent, again.confidence) == (first.intent, first.confidence)
    again.alternatives.clear()  # a caller changing its copy changes nothing remembered
    assert clf.predict_one("is it in stock").alternatives == first.alternatives
    clf.predict_one("bye")
    clf.predict_one("how much is it")  # two remembered at most: "is it in stock" was the oldest
    clf.predict_one("is it in stock")
    assert encoder.calls == calls + 3
    clf.memo_size = 0
    clf.predict_one("bye")
    assert encoder.calls == calls + 4


def test_fuzzy_matching_scales_to_a_large_catalog():
    """Typos are looked up over the whole vocabulary at once (rapidfuzz), with the same rules as one word at a
    time: a big catalog still finds the misspelt product and nothing that is too far."""
    items = [CatalogItem(k, f"Item{k:05d} Thing", f"SKU-{k}") for k in range(5000)]
    items.append(CatalogItem(99999, "Harbour Lantern", "HL-1"))
    index = CatalogIndex(items)
    assert index.extract("is the harbor lanter in stock").product == 99999
    assert index.extract("is the hxrbxr lxntxrn in stock").product is None
