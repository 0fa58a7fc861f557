"""Search as a shopper types it (on SQLite too: test_sqlite.py runs this file there)."""
import pytest

from shop.models import Category, Product


@pytest.fixture
def shop(db):
    home = Category.objects.create(name="Home & Living", slug="home")
    mugs = Category.objects.create(name="Mugs", slug="mugs", parent=home)
    lamps = Category.objects.create(name="Lamps", slug="lamps", parent=home)
    apparel = Category.objects.create(name="Apparel", slug="apparel")
    tees = Category.objects.create(name="T-Shirts", slug="t-shirts", parent=apparel)

    def make(name, cat, **attrs):
        return Product.objects.create(name=name, slug=name.lower().replace(" ", "-"), sku=f"S-{name[:3].upper()}"
                                      f"{Product.objects.count()}", category=cat, price="20.00", stock=5,
                                      description=attrs.pop("description", "Made with care."), attributes=attrs)

    return {
        "mug": make("Willow Mug", mugs, colour="white", material="stoneware"),
        "cup": make("Harbor Cup", mugs, colour="blue", material="stoneware"),
        "lamp": make("Desk Lamp", lamps, colour="black", material="steel"),
        "tee": make("Aurora Tee", tees, colour="blue", material="cotton", sizes="S,M,L"),
        "hidden": make("Hidden Mug", mugs, colour="blue"),
        "cats": {"mugs": mugs, "lamps": lamps, "tees": tees},
    }


def _results(client, q):
    r = client.get("/search/", {"q": q})
    assert r.status_code == 200
    page = r.context["page"]
    return r, ([p.name for p in page] if page is not None else [])


@pytest.fixture(autouse=True)
def _hide(shop):
    Product.objects.filter(name="Hidden Mug").update(is_active=False)


def test_category_names_find_their_products_singular_and_plural(client, shop):
    assert set(_results(client, "mugs")[1]) == {"Willow Mug", "Harbor Cup"}  # Harbor Cup: by its category
    assert set(_results(client, "mug")[1]) == {"Willow Mug", "Harbor Cup"}
    assert _results(client, "t-shirt")[1] == ["Aurora Tee"]
    assert _results(client, "T-Shirts")[1] == ["Aurora Tee"]
    assert _results(client, "lamps")[1] == ["Desk Lamp"]


def test_attribute_values_are_searchable(client, shop):
    assert set(_results(client, "blue")[1]) == {"Harbor Cup", "Aurora Tee"}  # never the inactive product
    assert _results(client, "blue mug")[1] == ["Harbor Cup"]
    assert _results(client, "steel")[1] == ["Desk Lamp"]


def test_name_matches_rank_above_category_and_description_matches(client, shop):
    Product.objects.filter(name="Harbor Cup").update(description="Pairs well with a lamp.")
    names = _results(client, "lamp")[1]
    assert names[0] == "Desk Lamp" and "Harbor Cup" in names
    assert _results(client, "mug")[1][0] == "Willow Mug"  # name beats category


def test_renamed_category_and_changed_attributes_are_found(client, shop):
    cat = shop["cats"]["mugs"]
    cat.name = "Cups and Beakers"
    cat.save()
    assert set(_results(client, "beakers")[1]) == {"Willow Mug", "Harbor Cup"}
    lamp = shop["lamp"]
    lamp.attributes = {"colour": "green"}
    lamp.save()
    assert _results(client, "green")[1] == ["Desk Lamp"]
    assert "Desk Lamp" not in _results(client, "steel")[1]


def test_typo_shows_results_for_the_corrected_words(client, shop):
    r, names = _results(client, "lmap")
    assert names == ["Desk Lamp"]
    assert r.context["corrected"] == "lamp"
    assert "Showing results for" in r.content.decode()


def test_nothing_matched_is_a_real_empty_state(client, shop):
    r, names = _results(client, "zzqqxx")
    body = r.content.decode()
    assert names == [] and 'id="empty-state"' in body and "Nothing matched" in body
    assert "Home &amp; Living" in body and "Apparel" in body  # categories to browse instead


def test_empty_query_is_not_a_blank_page(client, shop):
    body = client.get("/search/", {"q": "  "}).content.decode()
    assert "What are you looking for?" in body and 'id="browse-categories"' in body


@pytest.mark.parametrize("q", ['"', 'mug*', 'NEAR(mug lamp)', 'mug OR', '-', "l'amp", "mug AND (", "^mug", "\x7f"])
def test_query_syntax_never_breaks_the_page(client, shop, q):
    assert client.get("/search/", {"q": q}).status_code == 200


def test_sku_finds_its_product(client, shop):
    assert _results(client, shop["lamp"].sku)[1] == ["Desk Lamp"]
