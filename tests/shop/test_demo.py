"""The demo generator: deterministic, and its demand really depends on the photo and the words."""
from datetime import date

import numpy as np
import pytest

from shop.demo.generator import COLOURS, generate


@pytest.mark.parametrize("days", [7, 30, 90])
def test_small_shops_generate(days):
    d = generate(seed=1, end=date(2026, 1, 31), days=days, n_products=12, n_customers=10)
    assert d.daily.date.min() == date(2026, 1, 31).fromordinal(date(2026, 1, 31).toordinal() - days + 1)
    assert len(d.products) == 12 and (d.daily.units >= 0).all()


def test_same_seed_same_shop():
    a = generate(seed=5, end=date(2026, 1, 31), days=60, n_products=20, n_customers=30)
    b = generate(seed=5, end=date(2026, 1, 31), days=60, n_products=20, n_customers=30)
    assert a.daily.equals(b.daily) and a.events.equals(b.events) and a.products.equals(b.products)
    c = generate(seed=6, end=date(2026, 1, 31), days=60, n_products=20, n_customers=30)
    assert not a.daily.equals(c.daily)


def test_demand_depends_on_what_the_photo_shows():
    d = generate(seed=0, end=date(2026, 1, 31), days=120, n_products=150, n_customers=50)
    units = d.daily.groupby("item_id").units.mean()
    colour = d.products.set_index("item_id").colour
    by_colour = units.groupby(colour).mean()
    assert by_colour["blue"] > 1.8 * by_colour["orange"]
    # the colour is in the photo (the product's pixels), never in the name or description
    row = d.products.iloc[0]
    img = np.asarray(d.draw_image(row.item_id, 64)).reshape(-1, 3)
    target = np.array(COLOURS[row.colour][0])
    assert (np.abs(img - target).sum(1) < 30).mean() > 0.1
    assert not any(c in (r.name + " " + r.description).lower() for r in d.products.itertuples() for c in
                   [r.colour])


# What generate(seed=3, end=2026-03-31, days=90, n_products=40, n_customers=60) gave before the demo gained
# variants, current promotions, new drawings and reworded descriptions: for a given seed the products keep their
# names, SKUs, categories, list prices and attributes, and the history (sales, events, customers, stock-outs,
# past promotions) stays exactly the same, so figures measured on the demo stay comparable.
GOLDEN = {"products": "6b5896637218e652", "daily": "5bb8619809112855", "events": "61299525375e4330",
          "promotions": "a3df85112b42d5eb", "customers": "07e9e81c52224747", "stockouts": "e0839080fb32d093"}


def _fingerprint(d):
    import hashlib
    import json

    def h(text):
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    prod = [(r.item_id, r.name, r.slug, r.category, r.parent_category, round(float(r.price), 2),
             json.dumps(r.attributes, sort_keys=True), round(float(r.price0), 2), int(r.stock), str(r.launch_date))
            for r in d.products.itertuples()]
    history = d.promotions[d.promotions.starts_on <= d.end]
    return {"products": h(repr(prod)), "daily": h(d.daily.to_csv(index=False)),
            "events": h(d.events.to_csv(index=False)), "promotions": h(history.to_csv(index=False)),
            "customers": h(d.customers.to_csv(index=False)), "stockouts": h(d.stockouts.to_csv(index=False))}


def test_a_seed_keeps_its_products_and_history():
    d = generate(seed=3, end=date(2026, 3, 31), days=90, n_products=40, n_customers=60)
    assert _fingerprint(d) == GOLDEN


def test_promotions_run_on_the_day_after_the_history():
    end = date(2026, 3, 31)
    d = generate(seed=0, end=end, days=30, n_products=100, n_customers=10)
    today = d.promotions[(d.promotions.starts_on <= date(2026, 4, 1)) & (d.promotions.ends_on >= date(2026, 4, 1))]
    assert 5 <= len(today) <= 30 and today.item_id.is_unique
    later = d.promotions[d.promotions.ends_on > end]
    assert (later.starts_on == date(2026, 4, 1)).all()  # none reaches back into the history


CONTRADICTIONS = [("heavy-duty", "lightweight"), ("hand wash only", "dry clean only"), ("fragile", "heavy-duty"),
                  ("fragile", "reinforced"), ("waterproof", "hand wash only")]


def test_descriptions_do_not_contradict_themselves_or_their_material():
    d = generate(seed=0, end=date(2026, 1, 31), days=7, n_products=600, n_customers=5)
    for r in d.products.itertuples():
        text = r.description.lower()
        for a, b in CONTRADICTIONS:
            assert not (a in text and b in text), r.description
        if "organic cotton" in text:
            assert r.shape in {"shirt", "hoodie", "dress", "hat", "bag", "lamp", "book"}, r.description
        if r.shape in {"mug", "lamp", "book"}:
            assert "wash cold" not in text and "fit" not in text, r.description
        for phrase in r.phrases.split("|"):  # every drawn phrase is still written, in its product's words
            from shop.demo.generator import phrase_text

            assert phrase_text(r.shape, phrase) in r.description


def test_products_are_drawn_as_themselves():
    from shop.demo.generator import draw_product

    def coloured(img, x, y):
        return np.abs(np.asarray(img)[int(y * 200), int(x * 200)].astype(int) - COLOURS["green"][0]).sum() < 40

    tee, hoodie = (draw_product(shape, "green", "solid", 1, 200) for shape in ("shirt", "hoodie"))
    assert coloured(hoodie, 0.13, 0.72) and not coloured(tee, 0.13, 0.72)  # long sleeves
    assert coloured(hoodie, 0.5, 0.08) and not coloured(tee, 0.5, 0.08)  # a hood


def test_gallery_has_sharp_photos_and_its_first_is_the_product_photo():
    from shop.demo.generator import draw_gallery, draw_product

    photos = draw_gallery("mug", "blue", "dots", 5, 800)
    assert len(photos) == 3 and all(p.size == (800, 800) for p in photos)
    assert np.array_equal(np.asarray(photos[0]), np.asarray(draw_product("mug", "blue", "dots", 5, 800)))
    assert len({np.asarray(p).tobytes() for p in photos}) == 3
