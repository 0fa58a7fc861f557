"""The chat assistant's staff answers from the real forecast read side (forecasting.results over a published
forecast), not a stand-in."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from forecasting import results
from forecasting.publish import publish
from registry import services as registry
from tests.chatbot.test_chat import ask
from tests.forecasting.test_publish import frame

pytestmark = pytest.mark.django_db


def test_staff_questions_are_answered_from_the_live_forecast(chat_model, shop_catalog, django_user_model):
    lamp = shop_catalog["lamp"]  # stock 12
    version = registry.create_version("forecast")
    registry.promote(version)
    as_of = timezone.localdate() - timedelta(days=1)
    publish(version, frame([lamp], as_of, p50=2.0, spread=1.0), as_of=as_of)
    s = results.summary(lamp.pk)
    client = Client()
    client.force_login(django_user_model.objects.create_user("planner", "p@example.com", "pw-123456789",
                                                            is_staff=True))
    _, data = ask(client, "when will the harbor lamp run out?")
    assert data["intent"] == "forecast_stockout"
    assert f"{s.stockout_date:%d %B %Y}" in data["reply"] and f"{s.reorder_qty} units" in data["reply"]
    _, data = ask(client, "how many harbor lamps will we sell in the next 10 days?")
    assert data["intent"] == "forecast_units" and "about 20" in data["reply"]
    _, data = ask(client, "what should I reorder this week?")
    assert f"Harbor Lamp ({lamp.sku}): reorder {s.reorder_qty}" in data["reply"]
