"""Redis trouble must not take pages down: short timeouts, and a pause after a failure.

The web process uses Redis for the cache (throttle counters), the event buffer and the Celery broker. Each call
gets REDIS_TIMEOUT seconds (a hung Redis, a socket that accepts and never answers, costs that once, not a worker
timeout). After a failure `available()` is False for REDIS_RETRY_AFTER seconds and callers take their fallback
without trying: events are written straight to the database, throttles let requests through, order emails wait in
the outbox (shop.outbox) for the beat task or the next worker start. /readyz always asks Redis itself and, when it
answers, ends the pause early.
"""
from __future__ import annotations

import functools
import logging
import time

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

log = logging.getLogger(__name__)
ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
_paused_until = 0.0
_client: tuple[str, redis.Redis] | None = None  # (REDIS_URL it was made for, client)


def available() -> bool:
    return time.monotonic() >= _paused_until


def failed(exc: BaseException, what: str = "redis") -> None:
    """Record a failure: Redis is left alone for REDIS_RETRY_AFTER seconds."""
    global _paused_until
    if available():
        log.warning("%s unavailable (%s: %s); falling back for %.0f s", what, exc.__class__.__name__, exc,
                    settings.REDIS_RETRY_AFTER)
    _paused_until = time.monotonic() + settings.REDIS_RETRY_AFTER


def recovered() -> None:
    global _paused_until
    _paused_until = 0.0


def client() -> redis.Redis:
    """The shared client for REDIS_URL, with the short timeouts."""
    global _client
    if _client is None or _client[0] != settings.REDIS_URL:
        _client = (settings.REDIS_URL, redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=settings.REDIS_TIMEOUT, socket_timeout=settings.REDIS_TIMEOUT))
    return _client[1]


def reset_client() -> None:
    global _client
    _client = None


def ping() -> None:
    """Ask Redis directly (ignoring the pause); raises on failure. Used by /readyz."""
    try:
        client().ping()
    except ERRORS as exc:
        failed(exc)
        raise
    recovered()


def _guarded(default):
    def decorate(method):
        @functools.wraps(method)
        def wrapped(self, *args, **kwargs):
            if not available():
                return default(args, kwargs) if callable(default) else default
            try:
                return method(self, *args, **kwargs)
            except ERRORS as exc:
                failed(exc, "redis cache")
                return default(args, kwargs) if callable(default) else default

        return wrapped

    return decorate


def _get_default(args, kwargs):
    return kwargs.get("default", args[1] if len(args) > 1 else None)


class _ResilientClient(RedisCacheClient):
    """Django's Redis cache client where a failed call is a cache miss (reads) or a no-op (writes)."""

    add = _guarded(False)(RedisCacheClient.add)
    get = _guarded(_get_default)(RedisCacheClient.get)
    set = _guarded(None)(RedisCacheClient.set)
    touch = _guarded(False)(RedisCacheClient.touch)
    delete = _guarded(False)(RedisCacheClient.delete)
    get_many = _guarded(lambda a, k: {})(RedisCacheClient.get_many)
    has_key = _guarded(False)(RedisCacheClient.has_key)
    set_many = _guarded(lambda a, k: [])(RedisCacheClient.set_many)
    delete_many = _guarded(None)(RedisCacheClient.delete_many)


class ResilientRedisCache(RedisCache):
    """CACHES backend: Django's RedisCache (pass socket timeouts in OPTIONS) that degrades to a miss when Redis is
    down or slow, instead of failing the request. `incr` and `clear` still raise: a counter that silently does not
    count, or a clear that did not clear, would be wrong rather than slow."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ResilientClient
