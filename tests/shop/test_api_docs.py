"""The API documentation works offline and the schema says what the API does."""
import re

import pytest
from django.contrib.staticfiles import finders


def test_swagger_ui_is_served_from_our_static_files(client, db):
    body = client.get("/api/docs/").content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", body) + re.findall(r"""["'](https?://[^"']+)["']""", body)
    assert urls and not [u for u in urls if u.startswith(("http://", "https://", "//"))], urls
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts
    for url in scripts + [u for u in urls if u.endswith(".css")]:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not in the static files"


@pytest.fixture
def schema(client, db):
    import yaml

    return yaml.safe_load(client.get("/api/schema/").content)


def test_schema_matches_what_the_api_does(schema, settings):
    category = schema["components"]["schemas"]["Category"]["properties"]
    assert category["parent"].get("nullable") is True  # top-level categories have none
    cart_post = schema["paths"]["/api/cart/"]["post"]
    assert set(cart_post["responses"]) >= {"200"} and "201" not in cart_post["responses"]
    quantity = schema["components"]["schemas"]["CartWrite"]["properties"]["quantity"]
    assert quantity["maximum"] == settings.SHOP_MAX_LINE_QUANTITY == 50
