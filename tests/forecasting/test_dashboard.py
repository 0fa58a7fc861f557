"""The staff dashboard: overview (sort, filter, search, CSV), product page (chart + table equal to the rows), models
page (retrain, live status JSON); customers kept out; query counts that do not grow with the products."""
import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forecasting.models import Forecast, ProductForecast
from forecasting.publish import publish
from registry import services as registry
from registry.models import TrainingRun
from shop.models import Category, Promotion
from tests.forecasting.test_publish import frame

pytestmark = pytest.mark.django_db
OVERVIEW = "/admin/forecasting/productforecast/"
MODELS = "/admin/forecasting/forecastmodel/"
STATUS = "/admin/forecasting/forecastmodel/status.json"


@pytest.fixture
def staff(client, django_user_model):
    admin = django_user_model.objects.create_superuser("manager", "m@example.com", "a-Long-pass-9876")
    client.force_login(admin)
    return admin


@pytest.fixture
def published(make_product):
    as_of = timezone.localdate() - timedelta(days=1)
    mugs = Category.objects.create(name="Mugs", slug="mugs")
    lamps = Category.objects.create(name="Lamps", slug="lamps")
    version = registry.create_version("forecast", data_start=as_of - timedelta(days=700), data_end=as_of,
                                      metrics={"gate": {"days": 45, "items": 3, "start": "a", "end": "b", "scores": {
                                          "candidate": {"WAPE": 0.91, "MAE": 1.0, "bias": 0.01, "MASE": 0.8},
                                          "snaive": {"WAPE": 1.31, "MAE": 1.4, "bias": 0.0, "MASE": 1.1}}}})
    registry.promote(version, "first model: WAPE 0.910 beats seasonal naive 1.310")
    products = {
        "slow": make_product(name="Slow Mug", stock=500, category=mugs),
        "urgent": make_product(name="Urgent Lamp", stock=2, category=lamps),
        "soon": make_product(name="=HYPERLINK(\"x\")", stock=8, category=mugs),
    }
    Promotion.objects.create(product=products["urgent"], starts_on=as_of + timedelta(days=3),
                             ends_on=as_of + timedelta(days=6), discount_percent=20)
    pub = publish(version, frame(products.values(), as_of, p50=lambda p: 1.5 if p.stock < 100 else 0.4),
                  as_of=as_of, cold_start={products["slow"].pk: True}, history_days={products["slow"].pk: 3})
    return pub, products


def rows_text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_overview_lists_the_live_forecast_sorted_by_stock_out(client, staff, published):
    pub, p = published
    html = client.get(OVERVIEW).content.decode()
    assert "Forecast of" in html and pub.version.label in html
    order = [html.index(name) for name in ("Urgent Lamp", "HYPERLINK", "Slow Mug")]
    assert order == sorted(order)  # earliest stock-out first, never-out last
    by_reorder = client.get(OVERVIEW + "?o=-8").content.decode()  # reorder quantity, descending
    assert by_reorder.index("Urgent Lamp") < by_reorder.index("Slow Mug")
    mugs = Category.objects.get(slug="mugs")
    filtered = client.get(OVERVIEW + f"?product__category__id__exact={mugs.pk}").content.decode()
    assert "Slow Mug" in filtered and "Urgent Lamp" not in filtered
    found = client.get(OVERVIEW + "?q=lamp").content.decode()
    assert "Urgent Lamp" in found and "Slow Mug" not in found
    assert reverse("admin:forecasting_product", args=[p["urgent"].pk]) in html


def test_csv_export_follows_the_filters_and_defuses_formulas(client, staff, published):
    pub, p = published
    response = client.get(reverse("admin:forecasting_export") + "?q=mug")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["sku"] for r in rows} == {p["slow"].sku}
    everything = list(csv.DictReader(io.StringIO(b"".join(client.get(reverse("admin:forecasting_export"))
                                                          .streaming_content).decode())))
    assert len(everything) == 3
    formula = next(r for r in everything if "HYPERLINK" in r["name"])
    assert formula["name"].startswith("'=")
    slow = next(r for r in everything if r["sku"] == p["slow"].sku)
    summary = ProductForecast.objects.get(publication=pub, product=p["slow"])
    assert float(slow["units"]) == pytest.approx(summary.units, abs=0.01) and slow["cold_start"] == "1"
    assert slow["reorder_qty"] == str(summary.reorder_qty) and slow["model_version"] == str(pub.version_id)


def test_product_page_shows_chart_and_a_table_equal_to_the_rows(client, staff, published):
    pub, p = published
    product = p["urgent"]
    html = client.get(reverse("admin:forecasting_product", args=[product.pk])).content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="forecast-chart"' in html
    for part in ('class="band"', 'class="p50"', 'class="history"', 'class="stock"', 'class="promo"',
                 'class="stockout"'):
        assert part in html
    table = html[html.index('id="forecast-table"'):]
    cells = re.findall(r"<tr[^>]*><td>([^<]+)</td><td>([\d.]+)</td><td>([\d.]+)</td><td>([\d.]+)</td>", table)
    rows = list(Forecast.objects.filter(publication=pub, product=product).order_by("date"))
    assert len(cells) == len(rows) == 45
    for (day, p10, p50, p90), r in zip(cells, rows):
        assert day.endswith(r.date.strftime("%-d %b %Y"))
        assert (float(p10), float(p50), float(p90)) == (round(r.p10, 2), round(r.p50, 2), round(r.p90, 2))
    s = ProductForecast.objects.get(publication=pub, product=product)
    assert re.search(rf'id="sum-reorder">{s.reorder_qty}<', html)
    assert s.stockout_date.strftime("%-d %b %Y") in html
    cold = client.get(reverse("admin:forecasting_product", args=[p["slow"].pk])).content.decode()
    assert 'id="cold-start"' in cold and "3 days of sales history" in cold


def test_product_without_a_forecast_says_so(client, staff, make_product):
    p = make_product(name="New Vase")
    html = client.get(reverse("admin:forecasting_product", args=[p.pk])).content.decode()
    assert 'id="no-forecast"' in html and "New Vase" in html


def test_models_page_shows_the_serving_model_and_its_gate(client, staff, published):
    pub, _ = published
    html = client.get(MODELS).content.decode()
    assert 'id="gate-table"' in html and "0.910" in html and "1.310" in html
    assert "first model: WAPE 0.910 beats seasonal naive" in html
    assert 'id="retrain-button"' in html and "disabled" not in html[html.index('id="retrain-button"'):][:60]


def test_retrain_without_a_worker_explains_and_starts_nothing(client, staff):
    response = client.post(reverse("admin:forecasting_retrain"), follow=True)
    assert "No Celery worker is configured" in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_retrain_queues_one_run_and_a_second_press_says_one_is_running(client, staff, settings,
                                                                         django_capture_on_commit_callbacks):
    import redis

    from config.celery import app

    queue = f"test-dashboard-{timezone.now().timestamp()}"
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = client.post(reverse("admin:forecasting_retrain"), follow=True).content.decode()
        run = TrainingRun.objects.get()
        assert f"Training run #{run.pk} is queued" in first and run.requested_by.username == "manager"
        assert redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue) == 1  # the message is in the broker
        second = client.post(reverse("admin:forecasting_retrain"), follow=True).content.decode()
        assert "already queued" in second and TrainingRun.objects.count() == 1
        status = client.get(STATUS).json()
        assert status["active"]["id"] == run.pk and status["active"]["status"] == "queued"
        page = client.get(MODELS).content.decode()
        assert f'data-active="{run.pk}"' in page and 'id="cancel-button"' in page
        client.post(reverse("admin:forecasting_cancel", args=[run.pk]))
        assert TrainingRun.objects.get().status == "failed" and client.get(STATUS).json()["active"] is None
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = True, "celery"
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


def test_status_json_reports_progress_of_the_running_run(client, staff):
    run = registry.start_run("forecast")
    registry.claim_run(run.pk)
    registry.update_run(run, progress=0.42, stage="Training the candidate", epoch=3, epochs=10,
                        losses=[{"epoch": 3, "train_loss": 0.5, "val_loss": 0.7}], device="cpu")
    data = client.get(STATUS).json()
    a = data["active"]
    assert (a["progress"], a["epoch"], a["epochs"], a["val_loss"], a["device"]) == (0.42, 3, 10, 0.7, "cpu")
    assert a["heartbeat_seconds_ago"] < 60 and data["serving"] is None


@pytest.mark.parametrize("url", [OVERVIEW, MODELS, STATUS, "/admin/forecasting/productforecast/export.csv",
                                 "/admin/forecasting/productforecast/product/1/"])
def test_customers_cannot_open_any_of_it(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post("/admin/forecasting/forecastmodel/retrain/").status_code == 302
    assert not TrainingRun.objects.exists()
    client.logout()
    assert client.get(url).status_code == 302


def test_staff_without_permissions_get_403(client, django_user_model, published):
    clerk = django_user_model.objects.create_user("clerk", "c@example.com", "a-Long-pass-9876", is_staff=True)
    client.force_login(clerk)
    _, p = published
    assert client.get(OVERVIEW).status_code == 403
    assert client.get(reverse("admin:forecasting_product", args=[p["slow"].pk])).status_code == 403
    assert client.get(STATUS).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_forecastmodel"),
                               Permission.objects.get(codename="view_productforecast"))
    assert client.get(MODELS).status_code == 200 and client.get(OVERVIEW).status_code == 200
    assert 'id="retrain-button"' not in client.get(MODELS).content.decode()
    assert client.post(reverse("admin:forecasting_retrain")).status_code == 403


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_query_counts_do_not_grow_with_products_or_runs(client, staff, make_product):
    as_of = timezone.localdate() - timedelta(days=1)
    version = registry.create_version("forecast")
    registry.promote(version)
    cats = [Category.objects.create(name=f"C{i}", slug=f"c{i}") for i in range(3)]
    few = [make_product(category=cats[i % 3]) for i in range(3)]
    publish(version, frame(few, as_of), as_of=as_of)
    for _ in range(2):
        run = registry.start_run("forecast")
        registry.fail_run(run, "x")
    urls = [OVERVIEW, OVERVIEW + "?o=-4", MODELS, STATUS, reverse("admin:forecasting_product", args=[few[0].pk])]
    before = [_count(client, u) for u in urls]
    many = few + [make_product(category=cats[i % 3]) for i in range(20)]
    publish(version, frame(many, as_of), as_of=as_of)
    for _ in range(6):
        run = registry.start_run("forecast")
        registry.fail_run(run, "x")
        registry.create_version("forecast", run=run)
    assert [_count(client, u) for u in urls] == before
