""""Talk to a person" emails the shop through the outbox (shop.outbox): written with the support request, sent
once, and not lost while the broker is down."""
import json

import pytest
from django.core import mail
from django.test import Client

from chatbot.models import SupportRequest
from chatbot.tasks import send_support_request, support_email_key
from shop import outbox
from shop.models import OutboxEmail
from tests.shop.test_outbox import broker  # noqa: F401 - the fixture: Celery pointed at a given broker URL

pytestmark = pytest.mark.django_db


def ask(client, message):
    r = client.post("/api/chat/", data=json.dumps({"message": message}), content_type="application/json")
    assert r.status_code == 200, r.content
    return r.json()


@pytest.mark.parametrize("down", ["refused", "hung"])
def test_support_email_waits_in_the_outbox_while_the_broker_is_down(chat_model, broker, down, refused_redis,  # noqa: F811
                                                                    hung_redis, settings,
                                                                    django_capture_on_commit_callbacks):
    settings.SHOP_CONTACT_EMAIL = "team@example.com"
    broker(refused_redis if down == "refused" else hung_redis.url)
    client = Client()
    ask(client, "my parcel arrived broken")
    with django_capture_on_commit_callbacks(execute=True):
        data = ask(client, "I want to talk to a human")
    assert data["intent"] == "human" and "passed our conversation to the team" in data["reply"]
    req = SupportRequest.objects.get()
    row = OutboxEmail.objects.get()
    assert row.key == support_email_key(req.pk) and row.sent_at is None and len(mail.outbox) == 0
    assert row.to == "team@example.com" and "my parcel arrived broken" in row.body
    # the visitor leaves an address while the broker is still down: a second email, with a reply-to
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, "you can reach me at dora@example.com")
    assert OutboxEmail.objects.filter(sent_at=None).count() == 2 and len(mail.outbox) == 0
    # The broker is back: the beat task (or a worker start) drains the outbox, each email once.
    assert outbox.drain() == 2 and outbox.drain() == 0
    for key in OutboxEmail.objects.values_list("key", flat=True):
        send_support_request(req.pk, key)  # the original tasks arriving late send nothing more
    assert len(mail.outbox) == 2 and {tuple(m.to) for m in mail.outbox} == {("team@example.com",)}
    first, second = sorted(mail.outbox, key=lambda m: bool(m.reply_to))
    assert f"support request {req.pk}" in first.subject and "my parcel arrived broken" in first.body
    assert second.reply_to == ["dora@example.com"] and "dora@example.com" in second.body


def test_support_email_goes_out_at_once_and_only_once(chat_model, user, settings,
                                                      django_capture_on_commit_callbacks):
    settings.SHOP_CONTACT_EMAIL = "team@example.com"
    client = Client()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        data = ask(client, "I want to talk to a person")
    assert "a person will reply to alice@example.com" in data["reply"]
    assert len(mail.outbox) == 1 and mail.outbox[0].reply_to == ["alice@example.com"]
    req = SupportRequest.objects.get()
    send_support_request(req.pk, support_email_key(req.pk, req.email))  # a task delivered twice
    send_support_request(req.pk)  # or queued by an older release, without its outbox key
    assert len(mail.outbox) == 1 and OutboxEmail.objects.get().sent_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, "talk to a human please")  # asked again soon after: the same request, no second email
    assert SupportRequest.objects.count() == 1 and len(mail.outbox) == 1


def test_mail_server_down_keeps_the_support_email_for_the_next_drain(chat_model, settings,
                                                                     django_capture_on_commit_callbacks):
    from unittest import mock

    settings.SHOP_CONTACT_EMAIL = "team@example.com"
    client = Client()
    with mock.patch("shop.outbox.EmailMessage.send", side_effect=ConnectionRefusedError("SMTP down")):
        with django_capture_on_commit_callbacks(execute=True):
            data = ask(client, "I want to talk to a human")
    assert data["intent"] == "human"
    row = OutboxEmail.objects.get()
    assert row.sent_at is None and row.attempts == 1 and "SMTP down" in row.last_error
    assert outbox.drain() == 1 and len(mail.outbox) == 1 and mail.outbox[0].to == ["team@example.com"]
