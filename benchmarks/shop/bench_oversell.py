#!/usr/bin/env python
"""Concurrent checkouts on PostgreSQL: does place_order ever sell more than the stock, and how fast is it?

Round 1 (correctness under contention): one product with --stock units (5), --buyers threads (32), each with
its own database connection and its own cart holding 1 unit, released together by a threading.Barrier into
shop.checkout.place_order. Prints orders placed, stock left, units oversold (must be 0), orders per second.

Round 2 (throughput): --products products with plenty of stock, --buyers2 threads each placing --orders
orders of 1-3 random products (quantity 1-2), all released by a Barrier. Prints orders/s and failures.

The database (default postgres://postgres@127.0.0.1:5432/shop_bench) is created and migrated here; its shop
tables are emptied at the start. The confirmation email task is replaced by a no-op unless --with-email.

    nice python benchmarks/shop/bench_oversell.py
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.shop._common import DEFAULT_PG, apply_env, bench_env, ensure_database, setup_django  # noqa: E402


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_PG,
                   help="PostgreSQL on 127.0.0.1 (default %(default)s)")
    p.add_argument("--stock", type=int, default=5, help="units of the contested product (round 1)")
    p.add_argument("--buyers", type=int, default=32, help="concurrent buyers in round 1")
    p.add_argument("--repeat", type=int, default=3, help="repetitions of round 1")
    p.add_argument("--products", type=int, default=200, help="products in round 2")
    p.add_argument("--buyers2", type=int, default=32, help="concurrent buyers in round 2")
    p.add_argument("--orders", type=int, default=10, help="orders per buyer in round 2")
    p.add_argument("--with-email", action="store_true", help="also run the confirmation email task (eager)")
    return p.parse_args()


def main() -> None:
    args = parse()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL (row locks); SQLite serialises writers anyway")
    apply_env(bench_env(args.database_url, DATABASE_CONN_MAX_AGE="0"))
    ensure_database(args.database_url)
    setup_django()

    from django.db import connection, connections
    from django.db.models import Sum

    from shop import checkout, tasks
    from shop.models import Cart, CartLine, Category, Order, OrderLine, Product, StockOut

    if not args.with_email:
        tasks.send_order_confirmation.delay = lambda *a, **k: None

    address = checkout.Address(full_name="Bench Buyer", address_line1="1 Bench St", city="Berlin",
                               postal_code="10115", country="DE")

    def reset() -> Category:
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)
        return Category.objects.create(name="Bench", slug="bench")

    def run_buyers(carts: list[list[int]], orders_each: int, make_lines) -> tuple[int, int, float, list[str]]:
        """Each thread: `orders_each` times, fill its own cart with make_lines() and place the order."""
        n = len(carts)
        barrier = threading.Barrier(n + 1)
        placed = [0] * n
        failed = [0] * n
        errors: list[str] = []

        def buyer(i: int) -> None:
            try:
                cart = Cart.objects.get(pk=carts[i][0])
                rng = random.Random(i)
                barrier.wait()
                for k in range(orders_each):
                    if k:
                        CartLine.objects.bulk_create(make_lines(cart, rng))
                    try:
                        checkout.place_order(cart, email=f"buyer{i}@example.com", address=address)
                        placed[i] += 1
                    except checkout.CheckoutError:
                        failed[i] += 1
                        cart.lines.all().delete()
            except Exception as exc:  # noqa: BLE001 - report, do not hang the barrier
                errors.append(f"{type(exc).__name__}: {exc}")
                if not barrier.broken:
                    barrier.abort()
            finally:
                connections.close_all()

        threads = [threading.Thread(target=buyer, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        return sum(placed), sum(failed), time.perf_counter() - t0, errors

    print(f"database: {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']} "
          f"(PostgreSQL {connection.cursor().connection.info.server_version})")
    print(f"confirmation email task: {'eager, locmem backend' if args.with_email else 'replaced by a no-op'}")

    # Round 1: contention on one product.
    print(f"\nround 1: 1 product with {args.stock} units, {args.buyers} concurrent buyers x 1 unit")
    print(f"{'run':>3} {'placed':>6} {'refused':>7} {'stock left':>10} {'oversold':>8} {'orders/s':>9} "
          f"{'attempts/s':>10} {'stock-outs':>10}")
    worst = 0
    for run in range(1, args.repeat + 1):
        cat = reset()
        product = Product.objects.create(category=cat, name="Last units", slug="last-units", sku="LAST-1",
                                         price="19.90", stock=args.stock)
        carts = []
        for i in range(args.buyers):
            cart = Cart.objects.create()
            CartLine.objects.create(cart=cart, product=product, quantity=1)
            carts.append([cart.pk])
        placed, refused, secs, errors = run_buyers(carts, 1, None)
        product.refresh_from_db()
        sold = OrderLine.objects.filter(product=product).aggregate(n=Sum("quantity"))["n"] or 0
        oversold = max(0, sold - args.stock)
        worst = max(worst, oversold)
        print(f"{run:>3} {placed:>6} {refused:>7} {product.stock:>10} {oversold:>8} {placed / secs:>9.1f} "
              f"{args.buyers / secs:>10.1f} {StockOut.objects.filter(product=product).count():>10}")
        for e in errors[:5]:
            print("   error:", e)
        assert sold + product.stock == args.stock, "stock and order lines disagree"
    print(f"units oversold over {args.repeat} runs: {worst} (must be 0)")

    # Round 2: many products, many buyers.
    cat = reset()
    Product.objects.bulk_create([
        Product(category=cat, name=f"Bench product {k}", slug=f"bench-{k}", sku=f"B-{k:05d}", price="9.99",
                stock=args.buyers2 * args.orders) for k in range(args.products)])
    ids = list(Product.objects.values_list("pk", flat=True))
    start_stock = Product.objects.aggregate(s=Sum("stock"))["s"]

    def make_lines(cart, rng):
        return [CartLine(cart=cart, product_id=pid, quantity=rng.randint(1, 2))
                for pid in rng.sample(ids, rng.randint(1, 3))]

    carts = []
    rng0 = random.Random(0)
    for i in range(args.buyers2):
        cart = Cart.objects.create()
        CartLine.objects.bulk_create(make_lines(cart, rng0))
        carts.append([cart.pk])
    placed, refused, secs, errors = run_buyers(carts, args.orders, make_lines)
    sold = OrderLine.objects.aggregate(n=Sum("quantity"))["n"] or 0
    left = Product.objects.aggregate(s=Sum("stock"))["s"]
    print(f"\nround 2: {args.products} products, {args.buyers2} concurrent buyers x {args.orders} orders "
          f"of 1-3 products")
    print(f"orders placed {placed}, refused {refused}, errors {len(errors)}, in {secs:.2f} s: "
          f"{placed / secs:.1f} orders/s; units sold {sold}, stock consistent: {start_stock - left == sold}")
    for e in errors[:5]:
        print("   error:", e)
    print(f"orders in database: {Order.objects.count()}")


if __name__ == "__main__":
    main()
