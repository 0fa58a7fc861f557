"""The chat widget in headless Chromium: keyboard use, a price question, script injection, phone width."""
import os

import pytest

from shop.models import Category, Product
from tests.chatbot.conftest import (_fresh_caches, chat_model, encoder_dir, price_today, shop_catalog,  # noqa: F401
                                    trained_blob)


pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
EVIL = '<img src=x onerror="window.__pwned=1">'


def _wait(b, predicate, timeout=20):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # an element found while the page is being replaced goes stale: look again
    return WebDriverWait(b, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(predicate)


def _last_bot_text(b):
    items = b.find_elements("css selector", "#chat-log li.chat-bot:not(.chat-waiting) .chat-text")
    return items[-1].text if items else ""


def _ask(b, text, expect):
    from selenium.webdriver.common.keys import Keys

    box = b.find_element("id", "chat-input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    _wait(b, lambda d: expect in _last_bot_text(d))
    return _last_bot_text(b)


def test_price_question_by_keyboard(browser, live_server, chat_model, shop_catalog):  # noqa: F811
    from selenium.webdriver.common.keys import Keys

    b = browser
    lamp = shop_catalog["lamp"]
    expected = f"{price_today(lamp)} EUR"
    b.get(live_server.url + "/")
    button = b.find_element("id", "chat-open")
    assert button.get_attribute("aria-expanded") == "false"
    button.send_keys(Keys.ENTER)  # keyboard activation
    _wait(b, lambda d: d.find_element("id", "chat-panel").is_displayed())
    assert b.switch_to.active_element.get_attribute("id") == "chat-input"
    assert button.get_attribute("aria-expanded") == "true"
    reply = _ask(b, "How much is the Harbor Lamp?", expected)
    assert expected == "44.99 EUR" and "25% off" in reply
    card = b.find_elements("css selector", "#chat-log .chat-card a.chat-card-link")[-1]
    assert card.get_attribute("href").endswith(lamp.get_absolute_url()) and "Harbor Lamp" in card.text
    b.switch_to.active_element.send_keys(Keys.ESCAPE)
    _wait(b, lambda d: not d.find_element("id", "chat-panel").is_displayed())
    assert b.switch_to.active_element.get_attribute("id") == "chat-open"
    b.get(live_server.url + lamp.get_absolute_url())  # the conversation stays for the session
    b.find_element("id", "chat-open").click()
    assert "44.99 EUR" in b.find_element("id", "chat-log").text


def test_script_injection_in_a_question_and_a_product_name_is_inert(browser, live_server, chat_model,  # noqa: F811
                                                                    shop_catalog):
    cat = Category.objects.get(slug="lamps")
    Product.objects.create(name=f"Zephyr Lamp {EVIL}", slug="zephyr-evil", sku="EVIL-1", category=cat,
                           price="12.00", stock=4, attributes={"colour": "black"})
    b = browser
    b.get(live_server.url + "/")
    b.find_element("id", "chat-open").click()
    _wait(b, lambda d: d.find_element("id", "chat-panel").is_displayed())
    _ask(b, f"{EVIL}<script>window.__pwned=2</script> hello?", "")
    _wait(b, lambda d: len(d.find_elements("css selector", "#chat-log li.chat-bot:not(.chat-waiting)")) >= 2)
    _ask(b, "show me black lamps", "I found")  # the only black one: its card carries the name
    log = b.find_element("id", "chat-log")
    assert EVIL in log.text  # shown as text, in the question and in the product card
    assert log.find_elements("css selector", "img[src='x'], script") == []
    assert b.execute_script("return window.__pwned === undefined")
    card = log.find_elements("css selector", ".chat-card-name")[-1]
    assert card.text == f"Zephyr Lamp {EVIL}"


def test_usable_at_phone_width(browser, live_server, chat_model, shop_catalog, tmp_path):  # noqa: F811
    b = browser
    b.set_window_size(390, 844)
    b.get(live_server.url + "/")
    b.find_element("id", "chat-open").click()
    _wait(b, lambda d: d.find_element("id", "chat-panel").is_displayed())
    _ask(b, "red mugs under 20", "I found")
    assert "Willow Mug" in b.find_elements("css selector", "#chat-log .chat-card-name")[-1].text
    shot = os.environ.get("CHAT_SCREENSHOT") or str(tmp_path / "chat-phone.png")
    b.save_screenshot(shot)
    panel = b.find_element("id", "chat-panel").rect
    width = b.execute_script("return document.documentElement.clientWidth")
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= width + 1
    send = b.find_element("id", "chat-send").rect
    assert send["x"] + send["width"] <= width + 1


def test_a_shopper_with_a_cart_but_no_csrf_cookie_is_still_answered(browser, live_server, chat_model,  # noqa: F811
                                                                      shop_catalog):
    """Pages without a form carry no CSRF token; a browser with a session (here: a cart) must send one with its
    question, and the widget asks the API for it when the cookie is gone."""
    b = browser
    lamp = shop_catalog["lamp"]
    b.get(live_server.url + lamp.get_absolute_url())
    b.find_element("css selector", "form[action*='/cart/add/'] button[type='submit']").click()
    _wait(b, lambda d: d.find_element("id", "cart-count").text == "1")
    assert b.get_cookie("sessionid") and b.get_cookie("csrftoken")
    b.delete_cookie("csrftoken")
    b.get(live_server.url + "/")
    assert b.get_cookie("csrftoken") is None and "csrfmiddlewaretoken" not in b.page_source
    b.find_element("id", "chat-open").click()
    _wait(b, lambda d: d.find_element("id", "chat-panel").is_displayed())
    reply = _ask(b, "How much is the Harbor Lamp?", "EUR")
    assert "44.99 EUR" in reply and b.get_cookie("csrftoken")
