"""Order emails: queued with the order (an outbox row), sent after the commit, never breaking the checkout, never
lost while the broker or the mail server is down, never sent twice."""
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from config.celery import app
from shop import outbox, tasks
from shop.models import Order, OutboxEmail
from tests.conftest import ADDRESS


@pytest.fixture
def broker(settings):
    """Point the Celery app at a given broker URL, with tasks really sent (not run in-process)."""
    old = app.conf.broker_url, app.conf.task_always_eager

    def use(url):
        app.conf.broker_url = url
        app.conf.task_always_eager = False
        settings.REDIS_TIMEOUT = 0.3

    yield use
    app.conf.broker_url, app.conf.task_always_eager = old
    _forget_connections()


def _forget_connections():
    """Drop every connection and producer pool made while Celery pointed at the dead broker. Celery caches them on
    the app and kombu in its global pool groups; a later test's task would otherwise be published through a closed
    or dead pool ('Acquire on closed pool') and never reach its worker."""
    from kombu import pools

    pools.reset()
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None


def _checkout(client, product):
    client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 1})
    return client.post(reverse("shop:checkout"), {**ADDRESS, "email": "dora@example.com", "payment_method": "cod"})


@pytest.mark.parametrize("down", ["refused", "hung"])
def test_checkout_with_the_broker_down_shows_the_order_and_keeps_the_email(client, make_product, broker, down,
                                                                           refused_redis, hung_redis,
                                                                           django_capture_on_commit_callbacks):
    broker(refused_redis if down == "refused" else hung_redis.url)
    p = make_product(stock=3)
    with django_capture_on_commit_callbacks(execute=True):
        r = _checkout(client, p)
    assert r.status_code == 302 and "/confirmation/" in r["Location"]
    order = Order.objects.get()
    assert order.number in client.get(r["Location"]).content.decode()  # the guest sees the order number
    row = OutboxEmail.objects.get()
    assert row.sent_at is None and order.number in row.subject and len(mail.outbox) == 0
    # The broker is back: the beat task (or a worker start) drains the outbox, once.
    assert outbox.drain() == 1 and outbox.drain() == 0
    tasks.send_order_confirmation(order.pk)  # the original task arriving late sends nothing more
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dora@example.com"]
    assert order.number in mail.outbox[0].body


def test_task_running_twice_sends_one_email(make_product, buy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = buy({make_product(stock=2): 1})
    assert len(mail.outbox) == 1
    tasks.send_order_confirmation(order.pk)
    tasks.send_order_confirmation.apply(args=[order.pk])
    assert len(mail.outbox) == 1 and OutboxEmail.objects.get().attempts == 1


def test_mail_server_down_fails_nothing_and_the_next_drain_sends(client, make_product,
                                                                 django_capture_on_commit_callbacks):
    p = make_product(stock=3)
    with mock.patch("shop.outbox.EmailMessage.send", side_effect=ConnectionRefusedError("SMTP down")):
        with django_capture_on_commit_callbacks(execute=True):
            r = _checkout(client, p)
    assert r.status_code == 302 and "/confirmation/" in r["Location"]
    row = OutboxEmail.objects.get()
    assert row.sent_at is None and row.attempts == 1 and "SMTP down" in row.last_error
    assert tasks.drain_outbox() == 1 and len(mail.outbox) == 1


def test_a_failed_checkout_queues_no_email(make_product):
    from shop import checkout, payments
    from shop.models import Cart, CartLine

    cart = Cart.objects.create()
    CartLine.objects.create(cart=cart, product=make_product(stock=3), quantity=1)
    with mock.patch.object(payments.PayOnDelivery, "authorize", side_effect=payments.PaymentError("declined")):
        with pytest.raises(payments.PaymentError):
            checkout.place_order(cart, email="x@example.com", address=checkout.Address(**ADDRESS))
    assert not OutboxEmail.objects.exists()
