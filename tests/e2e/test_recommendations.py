"""A shopper in headless Chromium sees "Customers also bought" on a product page, clicks a recommendation, and the
click is counted on the dashboard's numbers (with the impression that preceded it)."""
import pandas as pd
import pytest

from recommender import report
from recommender.models import KIND
from recommender.publish import publish
from registry import services as registry
from shop import images
from shop.models import Category, Event, Product
from tests.conftest import png_bytes


pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_click_on_a_recommendation_is_counted(browser, live_server, settings, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    settings.RECOMMENDER_CONTROL_SHARE = 0.0
    lamps = Category.objects.create(name="Lamps", slug="lamps")
    products = []
    for i, name in enumerate(["Harbor Lamp", "Summit Shade", "Willow Bulb", "Cedar Stand", "Birch Cord"]):
        p = Product.objects.create(name=name, slug=name.lower().replace(" ", "-"), sku=f"E2R-{i}", category=lamps,
                                   price="19.00", stock=5, description=f"{name}, handmade.", popularity=i)
        images.add_product_image(p, png_bytes((50 * i, 120, 90)), f"{p.slug}.png")
        products.append(p)
    harbor, shade, bulb = products[:3]
    version = registry.create_version(KIND, engine="e2e")
    registry.promote(version)
    publish(version, pd.DataFrame(columns=["user_id", "rank", "product_id", "score"]),
            pd.DataFrame([(harbor.pk, 1, shade.pk, 0.9, "bought"), (harbor.pk, 2, bulb.pk, 0.8, "bought")],
                         columns=["source_id", "rank", "product_id", "score", "basis"]))

    b = browser
    b.get(live_server.url + harbor.get_absolute_url())
    section = b.find_element(By.ID, "recs-product")
    assert "Customers also bought" in section.text
    titles = [e.text for e in section.find_elements(By.CSS_SELECTOR, "h3 a.rec-link")]
    assert titles[:2] == ["Summit Shade", "Willow Bulb"] and "Harbor Lamp" not in titles
    link = section.find_element(By.LINK_TEXT, "Summit Shade")
    b.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    b.save_screenshot(str(tmp_path / "product-with-recommendations.png"))
    link.click()
    WebDriverWait(b, 10).until(lambda d: d.find_element(By.ID, "product-name").text == "Summit Shade")

    ref = f"product.model.{version.pk}.related"
    click = Event.objects.get(kind=Event.Kind.VIEW, product=shade)
    assert click.source == "recommendation" and click.data == {"ref": ref}
    vid = b.get_cookie("vid")["value"]
    assert click.session_key == vid
    rep = report.build(report.Period.last(1))
    arm = next(s for s in rep["slots"] if s["slot"] == "product")["arms"]["model"]
    # two product pages were shown with the slot (Harbor, then Summit): two impressions, one click
    assert (arm["visitors"], arm["impressions"], arm["clicks"]) == (1, 2, 1)
    assert arm["estimates"]["ctr"].value == pytest.approx(0.5)
