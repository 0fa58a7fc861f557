"""The daily cleanup: old anonymous carts, expired sessions and old sent emails go; everything else stays."""
from datetime import timedelta

from django.utils import timezone

from config.celery import app
from shop import tasks
from shop.models import Cart, CartLine, OutboxEmail, Session
from shop.sessions import SessionStore


def test_cleanup_deletes_old_anonymous_carts_and_expired_sessions(make_product, user, settings):
    settings.SHOP_CART_DAYS = 30
    p = make_product()
    old, fresh, users_old = Cart.objects.create(), Cart.objects.create(), Cart.objects.create(user=user)
    CartLine.objects.create(cart=old, product=p, quantity=1)
    long_ago = timezone.now() - timedelta(days=31)
    Cart.objects.filter(pk__in=[old.pk, users_old.pk]).update(updated_at=long_ago)
    live, dead = SessionStore(), SessionStore()
    live.create(), dead.create()
    Session.objects.filter(pk=dead.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    OutboxEmail.objects.create(key="old", to="a@example.com", subject="s", body="b",
                               sent_at=timezone.now() - timedelta(days=91))
    OutboxEmail.objects.create(key="unsent", to="a@example.com", subject="s", body="b",
                               created_at=timezone.now() - timedelta(days=200))

    result = tasks.cleanup()

    assert result == {"carts": 1, "sessions": 1, "emails": 1}
    assert set(Cart.objects.values_list("pk", flat=True)) == {fresh.pk, users_old.pk}  # a user's cart stays
    assert list(Session.objects.values_list("pk", flat=True)) == [live.session_key]
    assert list(OutboxEmail.objects.values_list("key", flat=True)) == ["unsent"]


def test_adding_to_a_cart_keeps_it_from_the_cleanup(client, make_product, settings):
    p = make_product(stock=5)
    client.post(f"/cart/add/{p.pk}/", {"quantity": 1})
    cart = Cart.objects.get()
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=31))
    client.post(f"/cart/add/{p.pk}/", {"quantity": 1})
    tasks.cleanup()
    assert Cart.objects.filter(pk=cart.pk).exists()


def test_beat_runs_cleanup_and_drains_the_outbox():
    schedule = {e["task"]: e["schedule"] for e in app.conf.beat_schedule.values()}
    assert schedule["shop.tasks.cleanup"] <= 24 * 3600 and schedule["shop.tasks.drain_outbox"] <= 300
