"""Publishing forecasts: bulk rows + summaries, swapped in atomically; the read side (forecasting.results)."""
import threading
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from forecasting import results
from forecasting.inventory import Policy, summarise
from forecasting.models import Forecast, ProductForecast, Publication
from forecasting.publish import PublishError, publish
from registry import services as registry
from shop.models import Promotion

pytestmark = pytest.mark.django_db
H = 45


def frame(products, as_of, p50=1.0, spread=0.5, horizon=H):
    rows = []
    for p in products:
        level = p50(p) if callable(p50) else p50
        for h in range(1, horizon + 1):
            rows.append({"product_id": p.pk, "date": (as_of + timedelta(days=h)).isoformat(),
                         "p10": max(level - spread, 0), "p50": level, "p90": level + spread})
    return pd.DataFrame(rows)


@pytest.fixture
def version(db):
    v = registry.create_version("forecast")
    registry.promote(v)
    return v


def test_publish_writes_every_day_and_one_summary_per_product(make_product, version, settings):
    settings.FORECAST_LEAD_TIME_DAYS, settings.FORECAST_REVIEW_DAYS, settings.FORECAST_SERVICE_LEVEL = 14, 7, 0.95
    as_of = timezone.localdate() - timedelta(days=1)
    a = make_product(stock=10, price="20.00")
    b = make_product(stock=0, price="5.00")
    c = make_product(stock=1000, price="1.00")
    Promotion.objects.create(product=a, starts_on=as_of + timedelta(days=1), ends_on=as_of + timedelta(days=5),
                             discount_percent=50)
    pub = publish(version, frame([a, b, c], as_of, p50=lambda p: 2.0 if p == a else 1.0), as_of=as_of,
                  cold_start={c.pk: True}, history_days={a.pk: 700})
    assert pub.status == "live" and pub.n_products == 3 and pub.n_rows == 3 * H
    assert Forecast.objects.filter(publication=pub).count() == 3 * H
    sa = results.summary(a.pk)
    assert sa.units == pytest.approx(90.0) and sa.units_p10 == pytest.approx(67.5) and sa.units_p90 == pytest.approx(112.5)
    assert sa.revenue == Decimal("1700.00")  # 5 days at 10.00 (promotion) + 40 days at 20.00, 2 units a day
    assert sa.stockout_date == as_of + timedelta(days=5)             # cumulative p50: 2, 4, ..., 10 on day 5
    assert sa.stockout_date_pessimistic == as_of + timedelta(days=4)  # cumulative p90: 2.5, 5, 7.5, 10 on day 4
    assert sa.days_of_cover == pytest.approx(5.0) and sa.stock == 10
    # order-up-to: 21 days x 2 units + z(0.95) x sqrt(21) x sigma, sigma = 1 / (2 x 1.2816)
    assert sa.reorder_qty == int(np.ceil(42 + 1.6449 * np.sqrt(21) * (1 / 2.5631) - 10))
    assert sa.first_day == as_of + timedelta(days=1) and sa.last_day == as_of + timedelta(days=H)
    assert sa.version_id == version.pk and sa.published_at and not sa.cold_start
    sb = results.summary(b.pk)
    assert sb.stockout_date == sb.stockout_date_pessimistic == as_of + timedelta(days=1)  # already out
    sc = results.summary(c.pk)
    assert sc.stockout_date is None and sc.reorder_qty == 0 and sc.cold_start
    assert results.units_between(a.pk, as_of + timedelta(days=1), as_of + timedelta(days=7)) == pytest.approx(
        (10.5, 14.0, 17.5))
    assert results.units_between(a.pk, as_of - timedelta(days=30), as_of) is None
    assert results.serving_version() == version


def test_reorder_suggestions_most_urgent_first(make_product, version):
    as_of = timezone.localdate() - timedelta(days=1)
    soon = make_product(stock=3)          # out in 3 days
    sooner = make_product(stock=1)        # out tomorrow
    later = make_product(stock=20)        # out in 20 days
    plenty = make_product(stock=10_000)
    publish(version, frame([soon, sooner, later, plenty], as_of), as_of=as_of)
    got = [s.product_id for s in results.reorder_suggestions(limit=10, within_days=7)]
    assert got == [sooner.pk, soon.pk]
    assert [s.product_id for s in results.reorder_suggestions(limit=1, within_days=7)] == [sooner.pk]
    assert later.pk in [s.product_id for s in results.reorder_suggestions(within_days=45)]


def test_nothing_published_reads_as_none(make_product):
    p = make_product()
    assert results.summary(p.pk) is None and results.reorder_suggestions() == []
    assert results.units_between(p.pk, date.today(), date.today()) is None and results.serving_version() is None


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.assign(p50=np.where(f.index == 3, np.nan, f.p50)), "not a finite number"),
    (lambda f: f.iloc[:-1], "has 44 forecast days"),
    (lambda f: f.drop(columns="p90"), "misses column"),
    (lambda f: f.assign(date=pd.to_datetime(f.date) + pd.Timedelta(days=1)), "forecast days must be"),
])
def test_a_bad_forecast_is_refused_and_the_live_one_stays(make_product, version, mutate, message):
    as_of = timezone.localdate() - timedelta(days=1)
    p = make_product(stock=10)
    live = publish(version, frame([p], as_of), as_of=as_of)
    with pytest.raises(PublishError, match=message):
        publish(version, mutate(frame([p], as_of, p50=3.0)), as_of=as_of)
    assert list(Publication.objects.values_list("pk", "status")) == [(live.pk, "live")]
    assert results.summary(p.pk).units == pytest.approx(45.0)


def test_a_failure_half_way_deletes_the_partial_publication(make_product, version, monkeypatch):
    from forecasting import publish as P

    as_of = timezone.localdate() - timedelta(days=1)
    prods = [make_product(stock=5) for _ in range(3)]
    live = publish(version, frame(prods, as_of), as_of=as_of)
    monkeypatch.setattr(P, "_swap", lambda pub: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError, match="disk full"):
        publish(version, frame(prods, as_of, p50=9.0), as_of=as_of)
    assert list(Publication.objects.values_list("pk", flat=True)) == [live.pk]
    assert Forecast.objects.count() == 3 * H and ProductForecast.objects.count() == 3
    assert results.summary(prods[0].pk).units == pytest.approx(45.0)


def test_only_the_live_and_the_previous_publication_are_kept(make_product, version):
    as_of = timezone.localdate() - timedelta(days=1)
    p = make_product()
    pubs = [publish(version, frame([p], as_of, p50=float(k + 1)), as_of=as_of) for k in range(4)]
    assert dict(Publication.objects.values_list("pk", "status")) == {pubs[3].pk: "live", pubs[2].pk: "superseded"}
    assert Forecast.objects.count() == 2 * H
    assert results.summary(p.pk).units == pytest.approx(4 * 45.0)


@pytest.mark.django_db(transaction=True)
def test_a_reader_never_sees_half_a_forecast(make_product, settings):
    """Readers in another connection, while publications are written and swapped: every read of the live
    forecast finds all products' rows of one and the same publication."""
    version = registry.create_version("forecast")
    registry.promote(version)
    as_of = timezone.localdate() - timedelta(days=1)
    prods = [make_product(stock=50) for _ in range(40)]
    publish(version, frame(prods, as_of, p50=1.0), as_of=as_of)
    stop, seen, errors = threading.Event(), set(), []

    def reader():
        try:
            while not stop.is_set():
                rows = list(Forecast.objects.filter(publication__status="live").values_list("publication_id", "p50"))
                pubs = {r[0] for r in rows}
                levels = {r[1] for r in rows}
                if len(rows) != 40 * H or len(pubs) != 1 or len(levels) != 1:
                    errors.append((len(rows), pubs, levels))
                seen.add(next(iter(levels)) if levels else None)
        finally:
            connection.close()

    t = threading.Thread(target=reader)
    t.start()
    try:
        for k in range(2, 7):
            publish(version, frame(prods, as_of, p50=float(k)), as_of=as_of)
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:3]
    assert len(seen) >= 2  # the reader did see the forecasts change


def test_inventory_policy_maths():
    p50 = np.array([[1.0] * 10, [0.0] * 10])
    s = summarise(p50 * 0.5, p50, p50 * 1.5, np.array([4.0, 3.0]), np.array([2.0, 2.0]),
                  Policy(lead_time_days=3, review_days=2, service_level=0.5))
    assert list(s["stockout_day"]) == [3, -1] and list(s["stockout_day_pessimistic"]) == [2, -1]
    assert s["reorder_qty"].tolist() == [1, 0]  # service level 0.5: z = 0, target = 5 days x 1 unit, stock 4
    assert s["days_of_cover"][0] == pytest.approx(4.0) and np.isnan(s["days_of_cover"][1])
    assert s["revenue"].tolist() == [20.0, 0.0]
    with pytest.raises(ValueError):
        Policy(service_level=1.0)



def test_deleting_a_product_deletes_its_forecast(make_product, version):
    as_of = timezone.localdate() - timedelta(days=1)
    keep, gone = make_product(), make_product()
    publish(version, frame([keep, gone], as_of), as_of=as_of)
    gone.delete()
    assert Forecast.objects.count() == H and ProductForecast.objects.get().product == keep
    assert results.summary(keep.pk) is not None
