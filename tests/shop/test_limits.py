"""Limits on what can be hammered: login lockout (django-axes), rate limits on signup, password reset and every API
endpoint, counted per real client address (X-Forwarded-For only as far as NUM_PROXIES trusts it)."""
import pytest
from django.core import mail
from django.urls import URLPattern, URLResolver, get_resolver

from shop.models import Cart


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates}}


def _login(client, password, **extra):
    return client.post("/accounts/login/", {"username": "alice", "password": password}, **extra)


@pytest.mark.parametrize("limit", [3, 5])
def test_login_locks_out_after_n_failures_even_with_the_right_password(client, user, settings, limit):
    settings.AXES_FAILURE_LIMIT = limit
    for _ in range(limit - 1):
        assert _login(client, "wrong").status_code == 200  # the form again, "didn't match"
    r = _login(client, "wrong")
    assert r.status_code == 429 and "Too many login attempts" in r.content.decode()
    r = _login(client, "s3cret-pass-123")  # the right password, too late
    assert r.status_code == 429 and "_auth_user_id" not in client.session
    # Another client address is not locked out of the account (the lock is per username and address).
    assert _login(client.__class__(), "s3cret-pass-123", REMOTE_ADDR="10.0.0.9").status_code == 302


def test_success_before_the_limit_resets_the_count(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _login(client, "wrong"), _login(client, "wrong")
    assert _login(client, "s3cret-pass-123").status_code == 302
    client.post("/accounts/logout/")
    _login(client, "wrong"), _login(client, "wrong")
    assert _login(client, "s3cret-pass-123").status_code == 302


def test_admin_login_and_api_basic_auth_share_the_lockout(client, user, settings):
    import base64

    settings.AXES_FAILURE_LIMIT = 2
    user.is_staff = True
    user.save()
    client.post("/admin/login/", {"username": "alice", "password": "wrong"})
    bad = "Basic " + base64.b64encode(b"alice:wrong").decode()
    client.get("/api/orders/", HTTP_AUTHORIZATION=bad)
    good = "Basic " + base64.b64encode(b"alice:s3cret-pass-123").decode()
    assert client.get("/api/orders/", HTTP_AUTHORIZATION=good).status_code == 429
    assert client.post("/admin/login/", {"username": "alice", "password": "s3cret-pass-123"}).status_code == 429


def test_login_attempts_are_rate_limited_per_address_across_usernames(client, db, settings):
    _rates(settings, login="4/min")
    codes = [client.post("/accounts/login/", {"username": f"user{i}", "password": "x"}).status_code
             for i in range(6)]
    assert codes[:4] == [200] * 4 and codes[4:] == [429, 429]


def test_password_reset_mails_one_address_a_limited_number_of_times(client, user, settings):
    _rates(settings, password_reset="3/hour")
    for i in range(6):  # from six different addresses: the per-mailbox limit still holds
        client.post("/accounts/password_reset/", {"email": "alice@example.com"}, REMOTE_ADDR=f"10.0.0.{i}")
    assert len(mail.outbox) == 3
    r = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert r.status_code == 429 and r.has_header("Retry-After")


def test_signup_is_rate_limited_per_address(client, db, settings):
    _rates(settings, signup="2/hour")
    codes = []
    for i in range(3):
        client.post("/accounts/logout/")
        codes.append(client.post("/accounts/signup/", {
            "username": f"new{i}", "email": f"new{i}@example.com", "password1": "Very-long-pass-42",
            "password2": "Very-long-pass-42"}).status_code)
    assert codes == [302, 302, 429]


def _api_views():
    """Every view under /api/ with its route."""
    out = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and (prefix + str(p.pattern)).startswith("api/"):
                out.append((prefix + str(p.pattern), p.callback))

    walk(get_resolver().url_patterns)
    return out


def test_every_api_endpoint_is_throttled():
    views = _api_views()
    assert len(views) >= 8
    for route, callback in views:
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        assert cls is not None, route
        view = cls()
        view.action = None
        view.request = None
        assert view.get_throttles(), f"{route} has no throttle"


@pytest.mark.parametrize("url", ["/api/products/", "/api/categories/", "/api/cart/", "/api/schema/"])
def test_api_throttle_ignores_forged_forwarded_for(client, db, settings, url):
    _rates(settings, anon="3/min")
    codes = [client.get(url, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_behind_one_proxy_the_client_address_is_the_one_the_proxy_saw(client, db, settings):
    settings.NUM_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    _rates(settings, anon="2/min")
    # The client forged the first entry; our proxy appended the real address.
    ok = [client.get("/api/categories/", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 198.51.100.7").status_code
          for i in range(3)]
    assert ok == [200, 200, 429]
    assert client.get("/api/categories/", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.8").status_code == 200


def test_cookieless_cart_posts_are_throttled_and_removing_creates_no_cart(client, make_product, settings):
    _rates(settings, cart="5/min", anon="1000/min")
    p = make_product(stock=10)
    assert client.post("/api/cart/", {"product_id": p.pk, "quantity": 0}, content_type="application/json"
                       ).status_code == 200
    assert Cart.objects.count() == 0
    codes = [client.__class__().post("/api/cart/", {"product_id": p.pk, "quantity": 1},
                                     content_type="application/json").status_code for _ in range(7)]
    assert codes.count(200) == 4 and codes[-2:] == [429, 429]  # 5 per minute, the first was the removal
    assert Cart.objects.count() == 4
