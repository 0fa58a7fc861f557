"""A person in headless Chromium: sign up, browse, search, add to cart, check out, see the order."""
import pytest

from shop import images
from shop.models import Category, Order, Product
from tests.conftest import png_bytes
from tests.e2e.conftest import follow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_new_customer_buys_and_sees_the_order(browser, live_server, settings):
    from selenium.webdriver.common.by import By

    home = Category.objects.create(name="Home & Living", slug="home")
    lamps = Category.objects.create(name="Lamps", slug="lamps", parent=home)
    mugs = Category.objects.create(name="Mugs", slug="mugs", parent=home)
    for i, (name, stock) in enumerate([("Harbor Lamp", 3), ("Summit Lamp", 2), ("Willow Mug", 9)]):
        p = Product.objects.create(name=name, slug=name.lower().replace(" ", "-"), sku=f"E2E-{i}",
                                   category=mugs if "Mug" in name else lamps,
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

    b.find_element(By.LINK_TEXT, "Home & Living").click()  # the category in the navigation bar
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
    assert "50.00 EUR" in b.find_element(By.CSS_SELECTOR, "#cart-summary .total-amount").text
    b.find_element(By.ID, "checkout-button").click()
    assert shows("Place order")
    assert b.find_element(By.NAME, "email").get_attribute("value") == "new@example.com"
    for name, value in [("full_name", "New Customer"), ("address_line1", "5 Shop Lane"), ("city", "Hamburg"),
                        ("postal_code", "20095")]:
        b.find_element(By.NAME, name).send_keys(value)
    from selenium.webdriver.support.ui import Select

    Select(b.find_element(By.NAME, "country")).select_by_visible_text("Germany")
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


def test_phone_shopper_opens_the_menu_and_buys_a_size(browser, live_server):
    """At 390 px: a one-row header whose menu opens on a tap; a size is chosen and lands in the cart."""
    from selenium.webdriver.common.by import By

    from shop.models import ProductVariant

    apparel = Category.objects.create(name="Apparel", slug="apparel")
    tee = Product.objects.create(name="Aurora Tee", slug="aurora-tee", sku="E2E-T", category=apparel, price="20.00",
                                 stock=5, description="A tee.")
    ProductVariant.objects.create(product=tee, sku="E2E-T-S", size="S", stock=0, position=0)
    ProductVariant.objects.create(product=tee, sku="E2E-T-M", size="M", stock=5, position=1)
    b = browser
    b.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1,
                                                             "mobile": True})
    b.get(live_server.url + "/")
    header = b.find_element(By.CSS_SELECTOR, "nav.site-nav")
    assert header.size["height"] < 80, header.size
    link = b.find_element(By.CSS_SELECTOR, '#main-nav a[href="/c/apparel/"]')
    assert not link.is_displayed()  # folded away
    b.find_element(By.CSS_SELECTOR, ".navbar-toggler").click()
    assert link.is_displayed()
    follow(b, link)
    follow(b, b.find_element(By.LINK_TEXT, "Aurora Tee"))
    sizes = {el.get_attribute("value"): el for el in b.find_elements(By.NAME, "variant")}
    small, medium = (ProductVariant.objects.get(size=s).pk for s in ("S", "M"))
    assert not sizes[str(small)].is_enabled()  # sold out
    b.find_element(By.CSS_SELECTOR, f"label[for=variant-{medium}]").click()
    b.find_element(By.ID, "add-to-cart").click()
    assert "Size M" in b.find_element(By.ID, "cart-table").text
    assert ProductVariant.objects.get(size="M").stock == 5  # carted, not sold
