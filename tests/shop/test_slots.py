"""Slots: other apps fill named places in shop pages without shop importing them (shop/slots.py)."""
from __future__ import annotations

import logging

import pytest
from django.utils.html import format_html

from shop import slots


def home_renderer(request, context):
    return format_html('<section id="slot-home">for {}</section>', request.path)


def product_renderer(request, context):
    return format_html('<section id="slot-product">{}</section>', context["product"].name)


def broken_renderer(request, context):
    raise RuntimeError("boom")


@pytest.fixture
def slot_config(settings):
    def configure(mapping):
        settings.SHOP_SLOTS = mapping
        slots.renderers.cache_clear()

    yield configure
    slots.renderers.cache_clear()


@pytest.mark.django_db
def test_configured_renderers_fill_their_slots(client, make_product, slot_config):
    product = make_product(name="Tea <b>pot</b>")
    slot_config({"home": [f"{__name__}.home_renderer"], "product": [f"{__name__}.product_renderer"]})
    home = client.get("/").content.decode()
    assert '<section id="slot-home">for /</section>' in home
    page = client.get(product.get_absolute_url()).content.decode()
    assert '<section id="slot-product">Tea &lt;b&gt;pot&lt;/b&gt;</section>' in page
    assert "slot-home" not in page


@pytest.mark.django_db
def test_a_failing_renderer_leaves_the_slot_empty_and_the_page_served(client, slot_config, caplog):
    slot_config({"home": [f"{__name__}.broken_renderer", f"{__name__}.home_renderer"]})
    with caplog.at_level(logging.ERROR, logger="shop.slots"):
        response = client.get("/")
    assert response.status_code == 200
    assert 'id="slot-home"' in response.content.decode()
    assert any("broken_renderer" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_no_configuration_renders_nothing(client, slot_config):
    slot_config({})
    response = client.get("/cart/")
    assert response.status_code == 200
