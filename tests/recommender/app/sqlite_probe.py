"""Run by test_sqlite.py in a fresh interpreter on a SQLite database (what scripts/run.sh uses): migrate, build a
small catalog, publish lists, and render the three slots through the real middleware and templates. Prints JSON.
Not a test module itself.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.recommender.app.sqlite_probe
"""
import json
import os
import re
from decimal import Decimal


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import pandas as pd
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from recommender.models import KIND
    from recommender.publish import publish
    from registry import services as registry
    from shop.models import Category, Product, Promotion

    call_command("migrate", verbosity=0, interactive=False)
    settings.RECOMMENDER_CONTROL_SHARE = 0.0
    cat = Category.objects.create(name="Mugs", slug="mugs")
    ps = [Product.objects.create(name=f"Mug {k}", slug=f"mug-{k}", sku=f"M{k}", category=cat,
                                 price=Decimal("11.99"), stock=5, popularity=10 - k) for k in range(6)]
    today = timezone.localdate()
    Promotion.objects.create(product=ps[2], starts_on=today, ends_on=today, discount_percent=20)
    version = registry.create_version(KIND, engine="probe")
    registry.promote(version)
    publish(version, pd.DataFrame(columns=["user_id", "rank", "product_id", "score"]),
            pd.DataFrame([(ps[0].pk, r, p.pk, 1.0 / r, "bought") for r, p in enumerate(ps[1:], 1)],
                         columns=["source_id", "rank", "product_id", "score", "basis"]))
    client = Client()
    out = {}
    for name, url in (("product", ps[0].get_absolute_url()), ("home", "/")):
        html = client.get(url).content.decode()
        section = re.search(rf'id="recs-{name}".*?</section>', html, re.S)
        out[name] = re.findall(r'rec-link" data-product="\d+">([^<]+)</a>', section.group(0)) if section else []
        out[name + "_prices"] = re.findall(r'<p class="card-text small mb-0">(.*?)</p>', section.group(0), re.S) \
            if section else []
    client.post(f"/cart/add/{ps[1].pk}/", {"quantity": 1})
    html = client.get("/cart/").content.decode()
    section = re.search(r'id="recs-cart".*?</section>', html, re.S)
    out["cart"] = re.findall(r'rec-link" data-product="\d+">([^<]+)</a>', section.group(0)) if section else []
    print(json.dumps(out))


if __name__ == "__main__":
    main()
