"""Write the demo shop's data in the ML engines' CSV formats, without a database.

    python -m shop.demo.export --out DIR [--seed 0] [--end 2026-11-20] [--products 300] [--customers 2000]

DIR/sales.csv         date,item_id,units,price,views,add_to_carts,promo,stockout   (the true daily counts)
DIR/items.csv         item_id,name,description,category,price,image_path
DIR/interactions.csv  timestamp,user_id,item_id,event,quantity,session_id          (user_id empty for guests)
DIR/images/ITEM.jpg   the product photos
DIR/truth.csv         item_id,colour,pattern,phrases,launch_date (what the photo and text encode)
"""
from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from .generator import generate


def export(out: Path, seed: int = 0, end: date | None = None, n_products: int = 300,
           n_customers: int = 2000) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    data = generate(seed=seed, end=end, n_products=n_products, n_customers=n_customers)
    data.daily.to_csv(out / "sales.csv", index=False)
    items = data.products[["item_id", "name", "description", "category", "price"]].copy()
    paths = []
    for item_id in data.products.item_id:
        path = (out / "images" / f"{item_id}.jpg").resolve()
        data.draw_image(item_id).save(path, quality=90)
        paths.append(str(path))
    items["image_path"] = paths
    items.to_csv(out / "items.csv", index=False)
    ev = data.events
    inter = ev[["timestamp", "item_id", "event", "quantity", "session_id"]].copy()
    inter.insert(1, "user_id", ev.customer_id.map(lambda c: f"c{c}" if c >= 0 else ""))
    inter["timestamp"] = ev.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    inter.to_csv(out / "interactions.csv", index=False)
    data.products[["item_id", "colour", "pattern", "phrases", "launch_date"]].to_csv(out / "truth.csv", index=False)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--end", type=date.fromisoformat, default=None, help="last day of history (default: yesterday)")
    ap.add_argument("--products", type=int, default=300)
    ap.add_argument("--customers", type=int, default=2000)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    export(args.out, args.seed, args.end, args.products, args.customers)
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
