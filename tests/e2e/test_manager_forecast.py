"""A manager in headless Chromium: signs in, opens a product's forecast and sees the chart, presses "Retrain now"
and sees the progress move while a real Celery worker trains; a customer cannot open any of it."""
import os

import pytest
from django.core.management import call_command

from forecasting import results, services
from registry import services as registry
from registry.models import TrainingRun
from shop.models import Product
from tests.conftest import celery_worker
from tests.e2e.conftest import follow
from tests.forecasting.test_training import TINY, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")  # set it to look at the pages


def shot(browser, name):
    if SCREENSHOTS:
        browser.save_screenshot(os.path.join(SCREENSHOTS, f"{name}.png"))


def sign_in(b, url, username, password):
    from selenium.webdriver.common.by import By

    b.get(url + "/admin/login/")
    b.find_element(By.NAME, "username").send_keys(username)
    b.find_element(By.NAME, "password").send_keys(password)
    follow(b, b.find_element(By.CSS_SELECTOR, "input[type=submit]"))


def test_manager_reads_a_forecast_and_retrains(browser, live_server, settings, tmp_path, proc_cleanup,
                                               django_user_model):
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    settings.FORECAST_ENGINE_CONFIG = TINY
    settings.ML_CACHE_DIR = tmp_path / "ml-cache"
    call_command("seed_demo", products=12, customers=60, days=200, seed=3, stdout=open(os.devnull, "w"))
    services.execute_run(registry.start_run("forecast", trigger="command").pk)
    assert results.serving_version() is not None
    django_user_model.objects.create_superuser("manager", "m@example.com", "a-Long-pass-9876")
    product = Product.objects.filter(is_active=True).order_by("name").first()
    b, url = browser, live_server.url

    sign_in(b, url, "manager", "a-Long-pass-9876")
    follow(b, b.find_element(By.LINK_TEXT, "Product forecasts"))   # linked from the admin index
    assert "Forecast of" in b.find_element(By.ID, "publication-info").text
    shot(b, "overview")
    b.find_element(By.ID, "searchbar").send_keys(product.sku)
    follow(b, b.find_element(By.CSS_SELECTOR, "#changelist-search input[type=submit]"))
    follow(b, b.find_element(By.LINK_TEXT, product.name))
    chart = b.find_element(By.ID, "forecast-chart")
    assert chart.is_displayed() and chart.size["width"] > 500
    assert b.find_elements(By.CSS_SELECTOR, "#forecast-chart polyline.p50")
    assert b.find_elements(By.CSS_SELECTOR, "#forecast-chart polygon.band")
    assert len(b.find_elements(By.CSS_SELECTOR, "#forecast-table tbody tr")) == 45
    shot(b, "product")

    follow(b, b.find_element(By.LINK_TEXT, "Product forecasts"))
    follow(b, b.find_element(By.ID, "models-link"))
    WebDriverWait(b, 30, poll_frequency=0.2).until(lambda d: "Serving model" in d.page_source)
    slow = {**TINY, "epochs": 40, "patience": 40}
    with celery_worker(proc_cleanup, **worker_env(slow)) as worker:
        b.find_element(By.ID, "retrain-button").click()
        # a click returns before the POST's redirect has loaded: wait for the page that says so
        WebDriverWait(b, 30, poll_frequency=0.2).until(lambda d: "is queued" in d.page_source)
        seen = []

        def progress_moved(driver):
            assert worker.poll() is None, worker.stdout.read()[-3000:]
            bar = driver.find_elements(By.ID, "run-progress")
            if bar and driver.find_element(By.ID, "run-panel").is_displayed():
                value = float(bar[0].get_attribute("value") or 0)
                if not seen or value != seen[-1]:
                    seen.append(value)
            # the stages before the first epoch move the bar too: wait for the epochs to count as well
            epoch = driver.find_element(By.ID, "run-epoch").text
            return len(seen) >= 3 and seen[-1] > seen[0] and epoch not in ("", "0")

        WebDriverWait(b, 240, poll_frequency=0.5).until(progress_moved)
        assert b.find_element(By.ID, "run-epoch").text != "0"
        shot(b, "training")
        run = TrainingRun.objects.order_by("-pk").first()
        # the page reloads itself when the run ends: an element found just before that goes stale, look again
        WebDriverWait(b, 300, poll_frequency=1, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: f"run-row-{run.pk}" in d.page_source and "run-succeeded" in
            d.find_element(By.ID, f"run-row-{run.pk}").get_attribute("class"))
    assert seen == sorted(seen)  # it only moved forward
    shot(b, "models")

    # a customer cannot open any of it
    b.delete_all_cookies()
    django_user_model.objects.create_user("carol", "c@example.com", "a-Long-pass-9876")
    b.get(url + "/accounts/login/")
    b.find_element(By.NAME, "username").send_keys("carol")
    b.find_element(By.NAME, "password").send_keys("a-Long-pass-9876")
    follow(b, b.find_element(By.CSS_SELECTOR, "form button[type=submit], form input[type=submit]"))
    for path in ("/admin/forecasting/productforecast/", f"/admin/forecasting/productforecast/product/{product.pk}/",
                 "/admin/forecasting/forecastmodel/", "/admin/forecasting/forecastmodel/status.json"):
        b.get(url + path)
        assert "/admin/login/" in b.current_url and "forecast-chart" not in b.page_source
        assert "Retrain now" not in b.page_source
