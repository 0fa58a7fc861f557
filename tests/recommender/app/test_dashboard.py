"""The staff dashboard: who may see it, the A/B numbers it shows (equal to the hand counts), the gate of the serving
model, the runs, retrain and cancel, and the JSON status."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache

from recommender.models import KIND
from registry import services as registry
from registry.models import ModelVersion, TrainingRun

from . import abstory

pytestmark = pytest.mark.django_db
URL = "/admin/recommender/recommendermodel/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass-789")


@pytest.fixture
def viewer(django_user_model):
    u = django_user_model.objects.create_user("viewer", "v@example.com", "s3cret-pass-789", is_staff=True)
    u.user_permissions.add(Permission.objects.get(codename="view_recommendermodel"))
    return u


def test_only_staff_with_permission_see_it(client, user, viewer):
    for url in (URL, URL + "status.json"):
        r = client.get(url)
        assert r.status_code == 302 and "/admin/login/" in r["Location"]
    client.force_login(user)                       # a customer
    assert client.get(URL).status_code == 302
    assert client.post(URL + "retrain/").status_code == 302
    client.force_login(viewer)                     # staff who may look but not retrain
    html = client.get(URL).content.decode()
    assert 'id="ab-table"' in html and 'id="retrain-button"' not in html
    assert client.post(URL + "retrain/").status_code == 403


def test_the_page_and_the_json_show_the_hand_counts(client, boss, catalog):
    abstory.write(catalog)
    client.force_login(boss)
    html = client.get(URL + "?days=7").content.decode()
    home = html[html.index('id="ab-home"'):html.index('id="ab-product"')]
    # model arm: 3 visitors, 6 impressions, 3 clicks, CTR 50.00 %, 1 add-to-cart, 1 buyer, 20.00 revenue, RPV 6.67
    for cell in ("<td>model</td>", '<td class="num">3</td>', '<td class="num">6</td>', "50.00 %", "16.67 %",
                 "33.33 %", '<td class="num">20.00</td>', "6.67", "control (popular)", "25.00 %", "+100.0 %"):
        assert cell in home, cell
    data = client.get(URL + "status.json?days=7").json()
    ab = {s["slot"]: s for s in data["ab"]["slots"]}
    m = ab["home"]["arms"]["model"]
    assert (m["visitors"], m["impressions"], m["clicks"], m["add_to_carts"], m["buyers"], m["revenue"]) == \
        (3, 6, 3, 1, 1, 20.0)
    assert m["ctr"]["value"] == pytest.approx(0.5) and m["conversion"]["low"] == pytest.approx(0.0615, abs=1e-4)
    assert ab["home"]["lift"]["ctr"]["value"] == pytest.approx(1.0)
    assert ab["all"]["arms"]["model"]["revenue"] == 25.0
    assert data["ab"]["attribution_minutes"] == 60 and data["ab"]["control_share"] == 0.0


def test_serving_model_gate_and_runs_are_shown(client, boss):
    run = registry.start_run(KIND)
    registry.claim_run(run.pk)
    v = registry.create_version(KIND, run=run, engine="test", metrics={"gate": {
        "window": ["2026-11-15", "2026-11-21"], "users": 412, "catalog": 300, "scores": {
            "candidate": {"NDCG@10": 0.1234, "HR@10": 0.3, "coverage": 0.9},
            "popularity": {"NDCG@10": 0.0580, "HR@10": 0.1, "coverage": 0.03}}}})
    registry.promote(v, "NDCG@10 0.1234 beats them")
    registry.finish_run(run, "v promoted")
    client.force_login(boss)
    html = client.get(URL).content.decode()
    assert f"<strong>{v.label}</strong>" in html and "NDCG@10 0.1234 beats them" in html
    gate = html[html.index('id="gate-table"'):]
    assert "412 customers" in gate and "0.1234" in gate and "recent popularity" in gate and "0.0580" in gate
    assert f'id="run-row-{run.pk}"' in html and f'id="version-row-{v.pk}"' in html


def test_retrain_without_a_worker_says_so_and_a_second_run_is_refused(client, boss):
    client.force_login(boss)
    r = client.post(URL + "retrain/", follow=True)
    assert "No Celery worker is configured" in r.content.decode()
    assert not TrainingRun.objects.exists()
    active = registry.start_run(KIND)
    from celery import current_app

    current_app.conf.task_always_eager = False
    try:
        r = client.post(URL + "retrain/", follow=True)
    finally:
        current_app.conf.task_always_eager = True
    assert f"run #{active.pk}" in r.content.decode() and TrainingRun.objects.count() == 1
    data = client.get(URL + "status.json").json()
    assert data["active"]["id"] == active.pk and data["active"]["status"] == "queued"


def test_cancel_a_run(client, boss):
    run = registry.start_run(KIND)
    client.force_login(boss)
    r = client.post(f"{URL}runs/{run.pk}/cancel/", follow=True)
    run.refresh_from_db()
    assert run.status == "failed" and "Cancelled by boss" in run.error and "was cancelled" in r.content.decode()
    assert client.post(f"{URL}runs/999999/cancel/").status_code == 404


def test_a_versions_change_page_goes_to_the_dashboard(client, boss):
    v = registry.create_version(KIND)
    client.force_login(boss)
    r = client.get(f"{URL}{v.pk}/change/")
    assert r.status_code == 302 and r["Location"] == URL
    assert ModelVersion.objects.count() == 1
