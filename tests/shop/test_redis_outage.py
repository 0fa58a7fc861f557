"""Redis refused or hung: pages, the API and events keep working; /readyz says so at once; after one failure the
web process leaves Redis alone for a while instead of paying the timeout on every request."""
import os

import pytest

from shop import resilience
from shop.models import Event


@pytest.fixture
def redis_at(settings):
    def use(url):
        settings.REDIS_URL = url
        settings.REDIS_TIMEOUT = 0.3
        settings.CACHES = {"default": {"BACKEND": "shop.resilience.ResilientRedisCache", "LOCATION": url,
                                       "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}}}
        settings.SHOP_EVENT_LOG = "buffer"
        resilience.reset_client()

    return use


@pytest.mark.parametrize("down", ["refused", "hung"])
def test_api_and_pages_work_with_redis_down(client, make_product, redis_at, down, refused_redis, hung_redis):
    redis_at(refused_redis if down == "refused" else hung_redis.url)
    p = make_product(name="Brass Lamp", stock=4)
    assert client.get("/api/products/").status_code == 200  # its throttle counts in the cache
    assert client.get("/api/categories/").status_code == 200
    for _ in range(3):
        r = client.get(f"/p/{p.slug}/")
        assert r.status_code == 200 and "Brass Lamp" in r.content.decode()
    assert client.get("/search/?q=lamp").status_code == 200
    assert client.post(f"/cart/add/{p.pk}/", {"quantity": 1}).status_code == 302
    # Nothing was lost: the events the Redis buffer could not take went straight to the database.
    assert Event.objects.filter(product=p, kind="view").count() == 3
    assert Event.objects.filter(product=p, kind="cart_add").count() == 1
    if down == "hung":
        # One timeout, then Redis is left alone: the hung server saw one connection, not one per call.
        assert hung_redis.accepted == 1


@pytest.mark.parametrize("down", ["refused", "hung"])
def test_readyz_reports_redis_down_and_recovers(client, db, redis_at, down, refused_redis, hung_redis):
    redis_at(refused_redis if down == "refused" else hung_redis.url)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["problems"]["redis"] in {"ConnectionError", "TimeoutError"}
    assert not resilience.available()
    redis_at(os.environ["REDIS_URL"])  # this run's real Redis
    r = client.get("/readyz")  # Redis is back: /readyz asks it directly and ends the pause
    assert r.status_code == 200 and resilience.available()
