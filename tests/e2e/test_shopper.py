"""A person in headless Chromium: sign up, browse, search, add to cart, check out, see the order."""
import os
import shutil
import tempfile

import pytest

from shop import images
from shop.models import Category, Order, Product
from tests.conftest import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI"):
            pytest.fail("Chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)")
        pytest.skip("Chromium not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1280,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_new_customer_buys_and_sees_the_order(browser, live_server, settings):
    from selenium.webdriver.common.by import By

    home = Category.objects.create(name="Home", slug="home")
    lamps = Category.objects.create(name="Lamps", slug="lamps", parent=home)
    for i, (name, stock) in enumerate([("Harbor Lamp", 3), ("Summit Lamp", 2), ("Willow Mug", 9)]):
        p = Product.objects.create(name=name, slug=name.lower().replace(" ", "-"), sku=f"E2E-{i}", category=lamps,
                                   price="25.00", stock=stock, description=f"{name}, handmade.")
        images.add_product_image(p, png_bytes((40 * i, 90, 200)), f"{p.slug}.png")
    b = browser
    url = live_server.url

    def shows(text):
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(b, 10).until(lambda d: text in d.page_source)
        return True

    b.get(url + "/accounts/signup/")
    b.find_element(By.NAME, "username").send_keys("newcustomer")
    b.find_element(By.NAME, "email").send_keys("new@example.com")
    b.find_element(By.NAME, "password1").send_keys("a-Long-pass-9876")
    b.find_element(By.NAME, "password2").send_keys("a-Long-pass-9876")
    b.find_element(By.ID, "signup-button").click()
    assert shows("Welcome")

    b.find_element(By.LINK_TEXT, "Home").click()  # the category in the navigation bar
    assert shows("Willow Mug") and "Harbor Lamp" in b.page_source
    box = b.find_element(By.NAME, "q")
    box.send_keys("lamp")
    b.find_element(By.ID, "search-button").click()
    assert shows("Results for") and "Willow Mug" not in b.page_source
    b.find_element(By.LINK_TEXT, "Harbor Lamp").click()
    assert shows("product-name") and b.find_element(By.ID, "product-name").text == "Harbor Lamp"
    img = b.find_element(By.CSS_SELECTOR, "img.product-photo")
    assert b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) == 64
    qty = b.find_element(By.NAME, "quantity")
    qty.clear()
    qty.send_keys("2")
    b.find_element(By.ID, "add-to-cart").click()
    assert shows("Your cart") and b.find_element(By.ID, "cart-count").text == "2"
    assert "50.00 EUR" in b.find_element(By.ID, "cart-total").text
    b.find_element(By.ID, "checkout-button").click()
    assert shows("Place order")
    assert b.find_element(By.NAME, "email").get_attribute("value") == "new@example.com"
    for name, value in [("full_name", "New Customer"), ("address_line1", "5 Shop Lane"), ("city", "Hamburg"),
                        ("postal_code", "20095"), ("country", "DE")]:
        b.find_element(By.NAME, name).send_keys(value)
    b.find_element(By.ID, "place-order").click()
    assert shows("Thank you")
    number = b.find_element(By.ID, "order-number").text

    b.find_element(By.LINK_TEXT, "newcustomer").click()
    assert shows("Your orders")
    table = b.find_element(By.ID, "order-history").text
    assert number in table and "Pending" in table
    order = Order.objects.get(number=number)
    assert order.user.username == "newcustomer" and order.lines.get().quantity == 2
    assert Product.objects.get(name="Harbor Lamp").stock == 1
