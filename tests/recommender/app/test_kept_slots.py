"""Slots kept in the process (recommender/slots.py) on pages kept by the shop (shop/pagecache.py), caching ON: a
kept slot costs no query, is logged on every request, follows the visitor's arm and session, and never shows a
product that sold out, was withdrawn or changed price since, nor an old publication."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recommender import experiment
from shop import events, stock
from shop.models import Event
from tests.recommender.app.test_slots import impressions, shown

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(settings):
    settings.SHOP_PAGE_CACHE = True
    return settings


def visitor(arm: str) -> Client:
    """A browser whose visitor id falls in `arm`."""
    vid = next(f"{n:032x}" for n in range(1000) if experiment.arm(f"{n:032x}") == arm)
    c = Client()
    c.cookies[events.VISITOR_COOKIE] = vid
    return c


def test_a_kept_slot_costs_no_query_and_is_logged_on_every_request(client, user, catalog, publish_rows, kept):
    kept.RECOMMENDER_READ_CACHE_SECONDS = 3600
    publish_rows(customers={user: [catalog["l3"], catalog["l2"]]})
    client.force_login(user)
    first = client.get("/").content.decode()
    with CaptureQueriesContext(connection) as ctx:
        again = client.get("/").content.decode()
    assert shown(again, "home") == shown(first, "home")[:4] and shown(again, "home")[:2] == ["Lamp 3", "Lamp 2"]
    slot_queries = [q["sql"] for q in ctx.captured_queries if "shop_product" in q["sql"]]
    assert slot_queries == []  # session, user and cart badge only; the impression is an INSERT here (direct)
    assert len(impressions()) == 2 and impressions()[0].data == impressions()[1].data


def test_a_product_that_sells_out_or_is_withdrawn_leaves_a_kept_slot_at_once(client, user, catalog, publish_rows,
                                                                            kept):
    c = catalog
    publish_rows(customers={user: [c["l3"], c["l2"], c["m4"], c["m5"]]})
    client.force_login(user)
    assert shown(client.get("/").content.decode(), "home") == ["Lamp 3", "Lamp 2", "Mug 4", "Mug 5"]
    stock.set_stock(c["l3"], 0)
    assert "Lamp 3" not in shown(client.get("/").content.decode(), "home")
    c["m4"].is_active = False
    c["m4"].save()
    names = shown(client.get("/").content.decode(), "home")
    assert names[:2] == ["Lamp 2", "Mug 5"] and "Mug 4" not in names


def test_a_price_change_shows_in_a_kept_slot_at_once(client, catalog, publish_rows, kept):
    c = catalog
    publish_rows(related={c["m0"]: [c["m2"], c["l1"]]})
    html = client.get(c["m0"].get_absolute_url()).content.decode()
    assert shown(html, "product")[:2] == ["Mug 2", "Lamp 1"] and "10.00 EUR" in html
    c["m2"].price = Decimal("3.25")
    c["m2"].save()
    assert "3.25 EUR" in client.get(c["m0"].get_absolute_url()).content.decode()


def test_a_new_publication_replaces_a_kept_slot(client, catalog, publish_rows, kept):
    c = catalog
    publish_rows(related={c["m0"]: [c["m2"], c["l1"]]})
    assert shown(client.get(c["m0"].get_absolute_url()).content.decode(), "product")[:2] == ["Mug 2", "Lamp 1"]
    pub = publish_rows(related={c["m0"]: [c["l5"], c["l4"]]})
    html = client.get(c["m0"].get_absolute_url()).content.decode()
    assert shown(html, "product")[:2] == ["Lamp 5", "Lamp 4"]
    assert impressions()[-1].data["ref"] == f"product.model.{pub.version_id}.related"


def test_each_arm_and_each_session_gets_its_own_slot_on_a_kept_page(catalog, publish_rows, kept):
    kept.RECOMMENDER_CONTROL_SHARE = 0.5
    c = catalog
    pub = publish_rows(related={c["m3"]: [c["l5"], c["l4"]], c["l0"]: [c["m5"]]})
    model, control = visitor(experiment.MODEL), visitor(experiment.CONTROL)
    model.get(c["m3"].get_absolute_url())   # the model visitor's session viewed Mug 3
    control.get(c["m3"].get_absolute_url())
    for _ in range(2):
        assert shown(model.get("/").content.decode(), "home")[:2] == ["Lamp 5", "Lamp 4"]
        assert shown(control.get("/").content.decode(), "home") == ["Mug 0", "Mug 1", "Mug 2", "Mug 3"]
    model.get(c["l0"].get_absolute_url())   # the session moves on: its list follows
    assert shown(model.get("/").content.decode(), "home")[0] == "Mug 5"
    refs = [i.data["ref"] for i in Event.objects.filter(kind="impression", data__ref__startswith="home")
            .order_by("pk")]
    assert refs == [f"home.model.{pub.version_id}.session", "home.control.0.popular"] * 2 + [
        f"home.model.{pub.version_id}.session"]
