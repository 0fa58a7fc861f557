"""shop.sessions (the SESSION_ENGINE): Django's database sessions read with one plain statement. What a shopper
would notice if the read were wrong: a live session (cart, login) must load, an expired or unknown one must not."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_engine_is_the_shops():
    assert settings.SESSION_ENGINE == "shop.sessions"


def test_a_live_session_loads_in_one_query_and_an_expired_or_unknown_one_does_not():
    s = SessionStore()
    s["cart_id"] = 42
    s.save()
    key = s.session_key
    with CaptureQueriesContext(connection) as q:
        again = SessionStore(key)
        assert again["cart_id"] == 42 and again.session_key == key
    assert len(q.captured_queries) == 1

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(key)
    assert "cart_id" not in expired and expired.session_key is None  # a new key when saved, as Django's store

    unknown = SessionStore("x" * 32)
    assert dict(unknown.items()) == {} and unknown.session_key is None
    unknown["a"] = 1
    unknown.save()
    assert unknown.session_key and unknown.session_key != "x" * 32  # never adopts a key the client made up


def test_a_signed_in_shopper_stays_signed_in_across_requests(client, django_user_model):
    django_user_model.objects.create_user("ann", "ann@example.com", "a-long-pass-phrase-42")
    assert client.login(username="ann", password="a-long-pass-phrase-42")
    html = client.get("/").content.decode()
    assert "ann" in html and "Log out" in html
