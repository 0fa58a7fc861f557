"""The event log through the Redis buffer: a page view lands in Redis, the flush task writes it in a batch."""
import pytest

from shop import events
from shop.models import Event
from shop.tasks import flush_events


@pytest.fixture
def buffered(settings):
    settings.SHOP_EVENT_LOG = "buffer"
    events._redis = None
    r = events.redis_client()
    r.delete(events.BUFFER_KEY)
    yield r
    r.delete(events.BUFFER_KEY)


def test_views_are_buffered_then_flushed(client, make_product, buffered):
    p = make_product()
    for src in ("list", "recommendation", "search"):
        client.get(f"/p/{p.slug}/?src={src}")
    assert Event.objects.count() == 0 and buffered.llen(events.BUFFER_KEY) == 3
    assert flush_events() == 3
    assert sorted(Event.objects.values_list("source", flat=True)) == ["list", "recommendation", "search"]
    assert buffered.llen(events.BUFFER_KEY) == 0
    vids = set(Event.objects.values_list("session_key", flat=True))
    assert len(vids) == 1 and len(vids.pop()) == 32  # one visitor, identified by the vid cookie


def test_a_failed_flush_keeps_the_events(client, make_product, buffered, monkeypatch):
    p = make_product()
    client.get(f"/p/{p.slug}/")

    def boom(records):
        raise RuntimeError("database down")

    monkeypatch.setattr(events, "write", boom)
    with pytest.raises(RuntimeError):
        flush_events()
    assert buffered.llen(events.BUFFER_KEY) == 1  # nothing lost
    monkeypatch.undo()
    assert flush_events() == 1 and Event.objects.count() == 1


def test_logged_in_views_carry_the_user(client, make_product, user):
    p = make_product()
    client.force_login(user)
    client.get(f"/p/{p.slug}/")
    assert Event.objects.get().user_id == user.pk


def _wait_for(predicate, seconds=10.0):
    import time

    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_batched_events_reach_redis_from_the_background_thread(client, make_product, buffered, settings):
    """SHOP_EVENT_BATCH_SECONDS > 0: a request only queues its events; the process's thread pushes them."""
    settings.SHOP_EVENT_BATCH_SECONDS = 0.05
    p = make_product()
    for _ in range(5):
        client.get(f"/p/{p.slug}/?src=list")
    assert _wait_for(lambda: buffered.llen(events.BUFFER_KEY) == 5)
    assert flush_events() == 5 and Event.objects.filter(product=p, kind="view", source="list").count() == 5


def test_batched_events_waiting_at_exit_are_pushed(make_product, buffered):
    shipper = events._Shipper()  # one whose thread has not run yet
    shipper.items.extend(['{"kind": "view"}', '{"kind": "search"}'])
    shipper.flush()  # what the atexit hook does
    assert buffered.llen(events.BUFFER_KEY) == 2 and shipper.items == []


@pytest.mark.django_db(transaction=True)
def test_batched_events_go_to_the_database_when_redis_is_refused(client, make_product, settings, refused_redis):
    from shop import resilience

    settings.SHOP_EVENT_LOG = "buffer"
    settings.SHOP_EVENT_BATCH_SECONDS = 0.05
    settings.REDIS_URL, settings.REDIS_TIMEOUT = refused_redis, 0.3
    resilience.reset_client()
    p = make_product()
    for _ in range(3):
        assert client.get(f"/p/{p.slug}/").status_code == 200
    assert _wait_for(lambda: Event.objects.filter(product=p, kind="view").count() == 3)
