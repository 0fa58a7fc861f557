"""What other apps log through the shop's event log: details (``data``) that survive the Redis buffer, the label of
the link a view came through, impressions, and the visitor's recent products kept in a session cookie."""
import pytest

from shop import events
from shop.models import Event
from shop.tasks import flush_events
from tests.shop.test_events import buffered  # noqa: F401 - the Redis buffer fixture

pytestmark = pytest.mark.django_db


def test_a_view_through_a_labelled_link_keeps_the_label_through_the_buffer(client, make_product, buffered):  # noqa: F811
    p = make_product()
    client.get(f"/p/{p.slug}/?src=recommendation&ref=home.model.3.personal")
    client.get(f"/p/{p.slug}/?src=recommendation&ref=" + "x" * 65)        # too long: no label
    client.get(f"/p/{p.slug}/?ref=home.model.3.personal")                  # no source: a direct view, no label
    assert flush_events() == 3
    views = list(Event.objects.order_by("pk").values_list("source", "data"))
    assert views == [("recommendation", {"ref": "home.model.3.personal"}), ("recommendation", None), ("direct", None)]


def test_an_impression_with_details_is_logged_like_any_event(rf, make_product, settings):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    events.log(request, Event.Kind.IMPRESSION, source="recommendation", quantity=4,
               data={"ref": "home.control.0.popular", "items": [1, 2, 3, 4]})
    events.dispatch(request._shop_events)
    e = Event.objects.get()
    assert e.kind == "impression" and e.product_id is None and e.quantity == 4
    assert e.data == {"ref": "home.control.0.popular", "items": [1, 2, 3, 4]}


def test_recent_products_are_this_sessions_views_and_carts_newest_first(client, make_product):
    a, b, c = make_product(), make_product(), make_product()
    client.get(f"/p/{a.slug}/")
    client.get(f"/p/{b.slug}/")
    client.post(f"/cart/add/{c.pk}/", {"quantity": 1})
    client.get(f"/p/{a.slug}/")
    cookie = client.cookies[events.RECENT_COOKIE]
    assert cookie.value == f"{a.pk}.{c.pk}.{b.pk}"
    assert not cookie["max-age"] and cookie["httponly"]     # a session cookie
    client.get("/")                                           # pages without events leave it alone
    assert client.cookies[events.RECENT_COOKIE].value == cookie.value


def test_the_recent_cookie_is_capped_and_tampering_is_harmless(rf, make_product):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.COOKIES[events.RECENT_COOKIE] = "5.x.7.5.-1." + ".".join(str(k) for k in range(100, 140))
    request.user = AnonymousUser()
    assert events.recent_products(request)[:3] == [5, 7, 100] and len(events.recent_products(request)) <= 20
    events.log(request, Event.Kind.VIEW, 7)
    assert events.recent_products(request)[:3] == [7, 5, 100] and len(events.recent_products(request)) <= 20
