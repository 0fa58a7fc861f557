"""The web process never imports torch: a fresh interpreter loads the URL conf and the WSGI app, renders every page
(storefront, API, admin as a superuser) and must end with no ML library in sys.modules."""
import json
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model

from shop import images
from shop.models import Category
from tests.conftest import ROOT, db_env, png_bytes


@pytest.mark.django_db(transaction=True)
def test_rendering_every_page_imports_no_torch(make_product, buy, settings):
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "s3cret-pass-789")
    top = Category.objects.create(name="Home", slug="home")
    leaf = Category.objects.create(name="Mugs", slug="mugs", parent=top)
    product = make_product(name="Probe mug", category=leaf, stock=50)
    images.add_product_image(product, png_bytes(), "mug.png")
    order = buy({product: 1}, user=admin)
    pool = {"slug": [product.slug, leaf.slug, top.slug], "product_id": [str(product.pk)], "pk": [str(product.pk)],
            "number": [order.number], "app_label": ["shop", "auth"], "id": [str(admin.pk)],
            "user_id": [str(admin.pk)]}
    env = db_env()
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    r = subprocess.run([sys.executable, "-m", "tests.web_probe", json.dumps(pool)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    by_name = {p["name"]: p for p in out["pages"]}
    errors = [p for p in out["pages"] if p["status"] >= 500]
    assert not errors, errors
    # the probe really rendered the pages that matter (a probe that rendered nothing would prove nothing)
    for name in ("shop:home", "shop:product", "shop:category", "shop:search", "shop:cart", "shop:order_detail",
                 "product-list", "product-detail", "order-detail", "schema", "admin:index", "admin:shop_product_changelist",
                 "admin:shop_product_change", "admin:shop_order_change", "admin:recommender_recommendermodel_changelist",
                 "admin:recommender_status"):
        assert name in by_name and by_name[name]["status"] == 200, (name, by_name.get(name))
    assert sum(p["status"] == 200 for p in out["pages"]) >= 30
    assert out["heavy"] == [], f"the web process imported {out['heavy']}"
