"""Fill an empty shop with the deterministic demo: catalog with photos, customers, two years of orders and events."""
from __future__ import annotations

import io
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from shop import images, versions
from shop.imports import bulk_insert
from shop.demo.generator import generate
from shop.models import Category, Event, Order, OrderLine, Product, ProductVariant, Promotion, StockOut
from shop.tasks import refresh_popularity


class Command(BaseCommand):
    help = "Build the demo shop (deterministic for a seed). Refuses to run on a shop that has products."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--products", type=int, default=300)
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--days", type=int, default=730)
        parser.add_argument("--end", type=date.fromisoformat, default=None, help="last day of history")
        parser.add_argument("--if-empty", action="store_true", help="do nothing (and succeed) if products exist")

    def handle(self, *args, **opts):
        if Product.objects.exists():
            if opts["if_empty"]:
                self.stdout.write("The shop already has products; demo data not loaded.")
                return
            self.stderr.write("The shop already has products; seed_demo only fills an empty shop.")
            raise SystemExit(1)
        t0 = time.perf_counter()
        data = generate(seed=opts["seed"], end=opts["end"], days=opts["days"], n_products=opts["products"],
                        n_customers=opts["customers"])
        t_gen = time.perf_counter() - t0
        with transaction.atomic():
            counts = load(data)
            versions.changed(versions.SITE)  # bulk writes send no signals: every cached page is stale
        t_all = time.perf_counter() - t0
        refresh_popularity()
        self.stdout.write(self.style.SUCCESS(
            f"Demo shop loaded in {t_all:.1f}s (generation {t_gen:.1f}s): " +
            ", ".join(f"{v} {k}" for k, v in counts.items())))


PHOTO_SIZE = 800
PHOTO_VIEWS = [("", ""), ("-detail", ", close-up of the material"), ("-styled", ", styled")]


def _at(d: date, hour: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=timezone.utc)


def load(data) -> dict[str, int]:
    cats = {}
    for pos, (slug, name, parent) in enumerate(data.categories):
        cats[slug] = Category.objects.create(slug=slug, name=name, parent=cats.get(parent), position=pos)
    p = data.products
    products = Product.objects.bulk_create([
        Product(category=cats[r.category], name=r.name, slug=r.slug, sku=r.item_id, description=r.description,
                price=f"{r.price:.2f}", stock=int(r.stock), attributes=r.attributes, created_at=_at(r.launch_date))
        for r in p.itertuples()
    ])
    by_sku = {prod.sku: prod for prod in Product.objects.all()}
    for prod in by_sku.values():
        # Drawn at 800 px: sharp where the product page shows it at up to 560 CSS px (thumbnails are 400 px).
        for position, (photo, what) in enumerate(zip(data.draw_gallery(prod.sku, PHOTO_SIZE), PHOTO_VIEWS)):
            buf = io.BytesIO()
            photo.save(buf, "JPEG", quality=88)
            images.add_product_image(prod, buf.getvalue(), f"{prod.slug}{what[0]}.jpg",
                                     alt=f"{prod.name}{what[1]}", position=position)
    Promotion.objects.bulk_create([
        Promotion(product=by_sku[r.item_id], starts_on=r.starts_on, ends_on=r.ends_on,
                  discount_percent=r.discount_percent) for r in data.promotions.itertuples()])
    StockOut.objects.bulk_create([
        StockOut(product=by_sku[r.item_id], started_at=r.started_at,
                 ended_at=None if pd.isna(r.ended_at) else r.ended_at)
        for r in data.stockouts.itertuples()])

    password = make_password(None)  # unusable: demo customers cannot log in
    cu = data.customers
    User.objects.bulk_create([
        User(username=f"customer{r.customer_id}", email=r.email, first_name=r.first_name, last_name=r.last_name,
             password=password, date_joined=_at(r.date_joined)) for r in cu.itertuples()], batch_size=2000)
    users = dict(User.objects.filter(username__startswith="customer").values_list("username", "pk"))
    user_of = {int(c): users[f"customer{c}"] for c in cu.customer_id}
    email_of = dict(zip(cu.customer_id.astype(int), cu.email))

    ProductVariant.objects.bulk_create([
        ProductVariant(product=by_sku[r.item_id], sku=r.sku, size=r.size, stock=int(r.stock), position=int(r.position))
        for r in data.variants.itertuples()])
    variant_of = {sku: (pk, size) for sku, pk, size in ProductVariant.objects.values_list("sku", "pk", "size")}

    ev = data.events.assign(variant_sku=data.event_variants())
    buys = ev[ev.event == "purchase"].copy()
    buys["amount"] = buys.unit_price * buys.quantity
    heads = (buys.groupby("order_key", sort=False)
             .agg(customer_id=("customer_id", "first"), session_id=("session_id", "first"),
                  at=("timestamp", "min"), total=("amount", "sum")).reset_index())
    heads["number"] = [f"DEMO-{k + 1:07d}" for k in range(len(heads))]
    age = (pd.Timestamp(data.end + timedelta(days=1), tz="UTC") - heads["at"]).dt.days.to_numpy()
    heads["status"] = np.select([age > 10, age > 3, age > 1], [Order.Status.DELIVERED, Order.Status.SHIPPED,
                                                                Order.Status.PAID], Order.Status.PENDING)
    dt = connection.ops.adapt_datetimefield_value
    now = dt(datetime.now(timezone.utc))
    bulk_insert(Order, ["number", "user_id", "session_key", "email", "status", "full_name", "address_line1",
                    "address_line2", "city", "postal_code", "country", "payment_method", "payment_reference",
                    "currency", "subtotal", "total", "created_at", "updated_at"], (
        (num, user_of.get(int(c)), sess, email_of.get(int(c), f"guest{k}@example.com"), st, "Demo Customer",
         "1 Demo Street", "", "Berlin", "10115", "DE", "cod", "", "EUR", f"{tot:.2f}", f"{tot:.2f}",
         dt(at.to_pydatetime()), now)
        for k, (num, c, sess, st, tot, at) in enumerate(zip(heads.number, heads.customer_id, heads.session_id,
                                                             heads.status, heads.total, heads["at"]))))
    order_pk = dict(Order.objects.filter(number__startswith="DEMO-").values_list("number", "pk"))
    key_pk = {key: order_pk[num] for key, num in zip(heads.order_key, heads.number)}
    pid = {sku: prod.pk for sku, prod in by_sku.items()}
    name_of = {sku: prod.name for sku, prod in by_sku.items()}
    none = (None, "")
    bulk_insert(OrderLine, ["order_id", "product_id", "variant_id", "sku", "name", "variant_label", "unit_price",
                            "quantity"], (
        (key_pk[key], pid[sku], variant_of.get(vsku, none)[0], vsku or sku, name_of[sku], variant_of.get(vsku, none)[1],
         f"{price:.2f}", int(q))
        for key, sku, vsku, price, q in zip(buys.order_key, buys.item_id, buys.variant_sku, buys.unit_price,
                                            buys.quantity)))

    kinds = {"view": Event.Kind.VIEW, "cart": Event.Kind.CART_ADD}
    rest = ev[ev.event != "purchase"]
    bulk_insert(Event, ["kind", "at", "session_key", "user_id", "product_id", "variant_id", "quantity", "source",
                        "query"], (
        (kinds[e], dt(ts), s, user_of.get(c), pid[i], variant_of.get(v, none)[0], int(q), src, "")
        for ts, e, s, c, i, v, q, src in zip(rest.timestamp.tolist(), rest.event, rest.session_id,
                                             rest.customer_id.astype(int), rest.item_id, rest.variant_sku,
                                             rest.quantity, rest.source)))
    return {"categories": len(cats), "products": len(products), "variants": len(data.variants),
            "customers": len(cu), "orders": len(heads),
            "order lines": len(buys), "events": len(rest)}
