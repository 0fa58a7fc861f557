"""The three slots in real pages: what they show, what they log, what they never show, and their query counts."""
from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender import experiment
from shop import events, slots
from shop.models import Event

pytestmark = pytest.mark.django_db


def shown(html: str, slot: str) -> list[str]:
    """Product names in a slot's section, in order."""
    m = re.search(rf'<section class="recommendations[^"]*" id="recs-{slot}".*?</section>', html, re.S)
    if not m:
        return []
    return re.findall(r'class="text-decoration-none text-dark rec-link" data-product="\d+">([^<]+)</a>', m.group(0))


def impressions():
    return list(Event.objects.filter(kind=Event.Kind.IMPRESSION).order_by("pk"))


def test_a_signed_in_customer_sees_their_rows_in_rank_order_and_an_impression_is_logged(client, user, catalog,
                                                                                         publish_rows):
    c = catalog
    pub = publish_rows(customers={user: [c["l3"], c["m4"], c["l1"], c["m5"], c["l0"]]})
    client.force_login(user)
    html = client.get("/").content.decode()
    assert shown(html, "home") == ["Lamp 3", "Mug 4", "Lamp 1", "Mug 5"]
    ref = f"home.model.{pub.version_id}.personal"
    assert f'href="{c["l3"].get_absolute_url()}?src=recommendation&amp;ref={ref}"' in html
    (imp,) = impressions()
    assert imp.source == "recommendation" and imp.user_id == user.pk and imp.quantity == 4
    assert imp.data == {"ref": ref, "items": [c[k].pk for k in ("l3", "m4", "l1", "m5")]}
    assert imp.session_key == client.cookies[events.VISITOR_COOKIE].value


def test_a_click_is_the_product_view_through_the_link_and_carries_its_label(client, user, catalog, publish_rows):
    pub = publish_rows(customers={user: [catalog["l3"]]})
    client.force_login(user)
    ref = f"home.model.{pub.version_id}.personal"
    client.get(f"{catalog['l3'].get_absolute_url()}?src=recommendation&ref={ref}")
    view = Event.objects.get(kind=Event.Kind.VIEW)
    assert view.source == "recommendation" and view.data == {"ref": ref} and view.product_id == catalog["l3"].pk
    client.get(f"{catalog['l2'].get_absolute_url()}?src=recommendation&ref=<script>")   # a malformed label
    assert Event.objects.filter(kind=Event.Kind.VIEW).order_by("-pk").first().data is None


def test_inactive_and_out_of_stock_products_never_appear_even_when_stock_changes_after_publishing(
        client, user, catalog, publish_rows):
    c = catalog
    c["l4"].stock = 0
    c["l4"].save()
    publish_rows(customers={user: [c["l4"], c["l3"], c["m4"], c["l2"], c["m5"]]})
    c["l3"].stock = 0          # sold out after publishing
    c["l3"].save()
    c["m4"].is_active = False  # withdrawn after publishing
    c["m4"].save()
    client.force_login(user)
    names = shown(client.get("/").content.decode(), "home")
    assert names == ["Lamp 2", "Mug 5", "Mug 0", "Mug 1"]  # then filled with the most popular available
    assert not {"Lamp 4", "Lamp 3", "Mug 4"} & set(names)


def test_a_visitor_who_viewed_a_product_sees_its_neighbours_on_home(client, catalog, publish_rows):
    c = catalog
    pub = publish_rows(related={c["m3"]: [c["m4"], c["m5"], c["l5"]], c["l0"]: [c["l1"]]})
    client.get(c["m3"].get_absolute_url())
    html = client.get("/").content.decode()
    names = shown(html, "home")
    assert names[:3] == ["Mug 4", "Mug 5", "Lamp 5"] and "Mug 3" not in names
    assert impressions()[-1].data["ref"] == f"home.model.{pub.version_id}.session"


def test_a_session_of_several_products_weighs_the_newest_most(client, catalog, publish_rows):
    c = catalog
    publish_rows(related={c["m3"]: [c["m4"], c["l5"]], c["l0"]: [c["l5"], c["l4"]]})
    client.get(c["m3"].get_absolute_url())
    client.get(c["l0"].get_absolute_url())   # newest
    names = shown(client.get("/").content.decode(), "home")
    assert names[:3] == ["Lamp 5", "Lamp 4", "Mug 4"]


def test_the_product_page_shows_customers_also_bought_and_content_neighbours_for_new_products(
        client, catalog, publish_rows):
    c = catalog
    publish_rows(related={c["m0"]: [c["m2"], c["m0"], c["l1"]], c["l5"]: [c["l4"]]}, basis={c["l5"]: "content"})
    html = client.get(c["m0"].get_absolute_url()).content.decode()
    assert "Customers also bought" in html
    assert shown(html, "product")[:2] == ["Mug 2", "Lamp 1"] and "Mug 0" not in shown(html, "product")
    html = client.get(c["l5"].get_absolute_url()).content.decode()
    assert "Customers also bought" not in html and "You may also like" in html
    assert shown(html, "product")[0] == "Lamp 4"


def test_the_cart_slot_excludes_what_is_in_the_cart(client, catalog, publish_rows):
    c = catalog
    publish_rows(related={c["m1"]: [c["m2"], c["m0"], c["l0"]]})
    client.post(f"/cart/add/{c['m1'].pk}/", {"quantity": 1})
    client.post(f"/cart/add/{c['m0'].pk}/", {"quantity": 1})
    html = client.get("/cart/").content.decode()
    names = shown(html, "cart")
    assert names[:2] == ["Mug 2", "Lamp 0"] and not {"Mug 0", "Mug 1"} & set(names)


def test_without_published_rows_every_slot_falls_back_to_popular_products(client, user, catalog):
    client.force_login(user)
    assert shown(client.get("/").content.decode(), "home") == ["Mug 0", "Mug 1", "Mug 2", "Mug 3"]
    assert shown(client.get(catalog["m0"].get_absolute_url()).content.decode(), "product") == \
        ["Mug 1", "Mug 2", "Mug 3", "Mug 4"]
    assert [i.data["ref"] for i in impressions()] == ["home.model.0.popular", "product.model.0.popular"]


def test_a_first_visit_is_not_shown_the_home_pages_own_rows_twice(client, catalog, make_product, settings):
    """With nothing personal, the home slot falls back to popular products, but not to the ones "Popular right
    now" and "New in" list just below it (both arms); a catalog too small for anything else repeats them."""
    for k in range(10):  # the newest products, less popular than any mug or lamp
        make_product(name=f"Vase {k}", category=catalog["m0"].category, stock=5, popularity=30 - k)
    for share, arm_ in ((0.0, "model"), (1.0, "control")):
        settings.RECOMMENDER_CONTROL_SHARE = share
        client.cookies.clear()
        html = client.get("/").content.decode()
        listed = re.findall(r'stretched-link">([^<]+)</a>', html.split('id="popular"')[1])
        assert {"Mug 0", "Lamp 1", "Vase 9", "Vase 2"} <= set(listed)  # the page's own two rows
        assert shown(html, "home") == ["Lamp 2", "Lamp 3", "Lamp 4", "Lamp 5"], arm_
        assert impressions()[-1].data["ref"] == f"home.{arm_}.0.popular"


def test_the_control_arm_sees_popular_products_even_with_rows(client, user, catalog, publish_rows, settings):
    settings.RECOMMENDER_CONTROL_SHARE = 1.0
    publish_rows(customers={user: [catalog["l3"]]})
    client.force_login(user)
    assert shown(client.get("/").content.decode(), "home") == ["Mug 0", "Mug 1", "Mug 2", "Mug 3"]
    assert impressions()[-1].data["ref"] == "home.control.0.popular"


def test_the_arm_follows_the_visitor_id(client, user, catalog, publish_rows, settings):
    settings.RECOMMENDER_CONTROL_SHARE = 0.5
    publish_rows(customers={user: [catalog["l3"]]})
    client.force_login(user)
    for _ in range(3):
        client.get("/")
    vid = client.cookies[events.VISITOR_COOKIE].value
    arms = {i.data["ref"].split(".")[1] for i in impressions()}
    assert arms == {experiment.arm(vid)}


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def no_slots(settings):
    def off():
        settings.SHOP_SLOTS = {}
        slots.renderers.cache_clear()
    yield off
    slots.renderers.cache_clear()


def test_each_slot_adds_one_query_once_its_lists_are_cached(client, user, catalog, publish_rows, settings,
                                                            no_slots):
    """With the published lists cached in the process, a slot costs one query (availability, card data and the
    popular fill together) whatever the number of products shown, session products or cart lines; a cold list
    (or the periodic look-up of the live publication) costs one or two more. The impression is logged with the
    page's other events (one Redis push with the buffer, one INSERT in direct mode), so the log is switched off
    here to count the slot alone."""
    settings.SHOP_EVENT_LOG = "off"
    settings.RECOMMENDER_READ_CACHE_SECONDS = 3600
    c = catalog
    everything = [p for k, p in sorted(c.items())]
    publish_rows(customers={user: everything}, related={p: everything for p in everything})
    client.force_login(user)
    client.post(f"/cart/add/{c['m1'].pk}/", {"quantity": 1})
    urls = ["/", c["m0"].get_absolute_url(), "/cart/"]
    cold = [_queries(client, u) for u in urls]
    small = [_queries(client, u) for u in urls]
    settings.RECOMMENDER_SLOT_SIZE = 10        # more products shown, more session products, more cart lines
    for p in everything[:8]:
        client.get(p.get_absolute_url())
        client.post(f"/cart/add/{p.pk}/", {"quantity": 1})
    large = [_queries(client, u) for u in urls]
    no_slots()
    bare = [_queries(client, u) for u in urls]   # the cart page's own queries grow with its lines: same cart
    assert [a - b for a, b in zip(large, bare)] == [1, 1, 1], (cold, small, large, bare)
    # cold: the live publication and the customer's list (home), m0's list (product), m1's list (cart)
    assert [a - b for a, b in zip(small, cold)] == [-2, -1, -1]


def test_without_the_live_publication_cached_a_slot_still_costs_a_constant_few_queries(client, user, catalog, publish_rows,
                                                                      settings, no_slots):
    settings.SHOP_EVENT_LOG = "off"
    c = catalog
    publish_rows(related={p: list(c.values()) for p in c.values()})
    client.force_login(user)                    # signed in without rows: the session's products are used
    client.get(c["m2"].get_absolute_url())
    client.get(c["l2"].get_absolute_url())
    urls = ["/", c["m0"].get_absolute_url()]
    with_slots = [_queries(client, u) for u in urls]
    no_slots()
    # home: the live publication (looked up twice: for the customer's list, then the session's), the customer's
    # (empty) list, the cards -- the session's lists were cached by the product pages just viewed;
    # product: the live publication, its list (cold), the cards
    assert [a - _queries(client, u) for a, u in zip(with_slots, urls)] == [4, 3]
