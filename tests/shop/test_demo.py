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
