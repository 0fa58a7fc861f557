"""Service answers link to the shop's own pages where they exist, and the starter FAQ says what those pages and
the checkout's shipping methods say."""
import importlib
import json
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.flatpages.models import FlatPage
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils.html import strip_tags

from chatbot.models import FaqEntry
from chatbot.starter import starter_rows
from shop import order_flow, shipping
from shop.models import Order
from shop.pricing import format_money

pytestmark = pytest.mark.django_db


def ask(client, message):
    r = client.post("/api/chat/", data=json.dumps({"message": message}), content_type="application/json")
    assert r.status_code == 200, r.content
    return r.json()


def page_text(client, url) -> str:
    r = client.get(url)
    assert r.status_code == 200
    html = r.content.decode()
    main = html[html.index("<main"):html.index("</main>")] if "<main" in html else html
    return " ".join(strip_tags(main).split())


def first_paragraph(page) -> str:
    return " ".join(strip_tags(page.content.split("</p>")[0]).split())


@pytest.fixture
def client():
    return Client()


@pytest.mark.parametrize("question,url", [
    ("what is your return policy?", "/pages/returns/"),
    ("how much is shipping?", "/pages/shipping/"),
    ("how long does delivery take?", "/pages/shipping/"),
    ("how can I contact you?", "/pages/contact/"),
    ("what do you do with my personal data?", "/pages/privacy/"),
    ("what are your terms and conditions?", "/pages/terms/"),
])
def test_service_answers_link_to_the_shops_own_page(client, chat_model, shop_pages, question, url):
    data = ask(client, question)
    assert data["intent"].startswith("faq:") and data["answered"] is True
    assert data["page"] == {"url": url, "title": shop_pages[url].title}
    assert {"label": f"{shop_pages[url].title} page", "url": url} in data["actions"]
    assert client.get(url).status_code == 200  # the link opens the page


def test_no_link_where_the_page_does_not_exist(client, chat_model, shop_pages):
    FlatPage.objects.filter(url="/pages/returns/").delete()
    data = ask(client, "what is your return policy?")
    assert data["intent"] == "faq:returns" and "30 days" in data["reply"]
    assert data["page"] is None and not [a for a in data["actions"] if "url" in a]
    assert "Returns page" not in data["reply"]
    data = ask(client, "how can I pay?")  # an answer without a page
    assert data["page"] is None and "Pay on delivery" in data["reply"]


def test_the_starter_faq_says_what_the_pages_and_the_checkout_say(client, chat_model, shop_pages, buy,
                                                                 make_product):
    answers = {}
    for question in ["how much is shipping?", "which countries do you ship to?", "how long does delivery take?",
                     "what is your return policy?", "how can I contact you?", "can I change my order?",
                     "what do you do with my personal data?", "what are your terms and conditions?"]:
        data = ask(client, question)
        answers[data["intent"][4:]] = data["reply"]
    shipping_page = page_text(client, "/pages/shipping/")
    # delivery costs: every method checkout offers, as the shipping page lists it, and its real rule
    for m in shipping.methods():
        assert m.label in answers["shipping-cost"] and m.label in shipping_page
        if isinstance(m, shipping.FlatRate):
            assert format_money(m.rate) in answers["shipping-cost"] and format_money(m.rate) in shipping_page
        if isinstance(m, shipping.FreeOverThreshold):
            assert m.note() in answers["shipping-cost"] and m.note() in shipping_page
            assert "free" in [q.code for q in shipping.quotes(m.threshold, "DE")]  # "or more": the threshold counts
            assert "free" not in [q.code for q in shipping.quotes(m.threshold - Decimal("0.01"), "DE")]
    for _, name in shipping.ship_to_countries():
        assert name in answers["shipping-countries"] and name in shipping_page
    # delivery times: the shipping page's own words
    assert answers["delivery-time"].startswith(first_paragraph(shop_pages["/pages/shipping/"]))
    # returns: every number of days, condition and address the answer states is on the returns page
    returns_page = page_text(client, "/pages/returns/")
    days = re.findall(r"(\d+) days", answers["returns"])
    assert days and set(days) <= set(re.findall(r"(\d+) days", returns_page))
    for claim in ["free of charge", "unused", "original packaging", "return label"]:
        assert claim in answers["returns"] and claim in returns_page
    contact = re.search(r"[\w.+-]+@[\w.-]+\w", answers["returns"]).group(0)
    assert contact in returns_page and contact in answers["contact"] and contact in page_text(client, "/pages/contact/")
    # changing an order: only a pending one can be cancelled by the customer, as the answer says
    assert "still pending you can cancel" in answers["change-order"]
    order = buy({make_product(stock=3): 1})
    assert order_flow.customer_can_cancel(order)
    order.status = Order.Status.PAID
    assert not order_flow.customer_can_cancel(order)
    for slug, url in [("privacy", "/pages/privacy/"), ("terms", "/pages/terms/")]:
        assert answers[slug].startswith(first_paragraph(shop_pages[url]))


def test_shipping_answer_follows_the_shipping_settings(client, chat_model, shop_pages, settings):
    settings.SHOP_SHIPPING_FLAT_RATE = Decimal("6.50")
    settings.SHOP_FREE_SHIPPING_OVER = None
    data = ask(client, "how much is shipping?")
    page = page_text(client, "/pages/shipping/")
    assert "6.50 EUR" in data["reply"] and "6.50 EUR" in page
    assert "free" not in data["reply"].lower() and "Free delivery" not in page
    settings.SHOP_FREE_SHIPPING_OVER = Decimal("80.00")
    data = ask(client, "how much is shipping?")
    assert "on orders of 80.00 EUR or more" in data["reply"]


def test_every_starter_page_is_one_the_shop_creates():
    created = {url for url, *_ in importlib.import_module("shop.migrations.0006_shop_pages").pages()}
    linked = {row["page"] for row in starter_rows() if row.get("page")}
    assert linked and linked <= created


def test_the_page_field_takes_a_path_on_this_site(db):
    entry = FaqEntry(slug="gift-wrap", question="Do you gift wrap?", answer="No.",
                     examples="do you gift wrap\ngift wrapping\ncan you wrap it", page="pages/gifts")
    with pytest.raises(ValidationError, match="path on this site"):
        entry.full_clean()
    entry.page = "/pages/gifts"
    entry.full_clean()
    assert entry.page == "/pages/gifts/"


def test_the_migration_rewords_only_entries_nobody_edited(db):
    from chatbot.starter import load_starter_faq

    load_starter_faq(FaqEntry)  # gone if a transactional test flushed the database
    migration = importlib.import_module("chatbot.migrations.0003_faq_pages")
    new = {row["slug"]: row for row in starter_rows()}
    FaqEntry.objects.filter(slug="returns").update(answer=migration.SHIPPED_0002["returns"], page="")
    FaqEntry.objects.filter(slug="shipping-cost").update(answer="Ask us about shipping!", page="")
    FaqEntry.objects.filter(slug="privacy").delete()
    migration.forwards(apps, None)
    returns, cost = FaqEntry.objects.get(slug="returns"), FaqEntry.objects.get(slug="shipping-cost")
    assert returns.answer == new["returns"]["answer"] and returns.page == "/pages/returns/"
    assert cost.answer == "Ask us about shipping!" and cost.page == "/pages/shipping/"  # the manager's words stay
    assert FaqEntry.objects.get(slug="privacy").page == "/pages/privacy/"
