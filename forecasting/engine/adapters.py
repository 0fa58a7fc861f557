"""Adapters from public data sets into the documented sales/items format.

* :func:`online_retail` -- UCI Online Retail (Chen, Sain and Guo, 2012; CC BY 4.0), one row per order line.
  Cancellation invoices (``InvoiceNo`` starting with ``C``) are not sales; a cancelled quantity is netted only
  against the same item's sales on the same day (this removes the two giant same-day mistaken orders of the
  file), otherwise dropped. Non-product stock codes (postage, manual, bank charges, Amazon fees, carriage,
  pads, gift vouchers...) are excluded: only codes of five digits plus an optional letter suffix are kept.
  ``price`` is the units-weighted mean unit price of the day. ``name`` and ``description`` are the most common
  description text; ``category`` is the first two digits of the stock code (a weak proxy for a product family).
  No photos are in the data set, so ``image_path`` is empty (the model's "no image" embedding is used).
* :func:`m5_subset` -- the 10-series M5 subset: daily units, weekly sell prices (forward-filled to days),
  ``category`` = dept_id; returns also the M5 calendar's event days (pass them as ``extra_holidays``).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]{0,2}$")


def online_retail(path: str, top: int | None = None, rank_until: str | None = None):
    """Return ``(sales, items)``. ``top``: keep the ``top`` items by units sold up to ``rank_until``
    (default: the whole file)."""
    raw = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "Description": str})
    raw["StockCode"] = raw["StockCode"].str.strip().str.upper()
    raw = raw[raw["StockCode"].str.match(PRODUCT_CODE)]
    raw["date"] = pd.to_datetime(raw["InvoiceDate"]).dt.normalize()
    cancel = raw["InvoiceNo"].str.startswith("C")
    sold = raw[~cancel & (raw["Quantity"] > 0) & (raw["UnitPrice"] > 0)].copy()
    sold["rev"] = sold["Quantity"] * sold["UnitPrice"]
    g = sold.groupby(["date", "StockCode"]).agg(units=("Quantity", "sum"), rev=("rev", "sum")).reset_index()
    c = raw[cancel].groupby(["date", "StockCode"])["Quantity"].sum().rename("cancelled").reset_index()
    g = g.merge(c, on=["date", "StockCode"], how="left")
    g["price"] = g["rev"] / g["units"]
    g["units"] = (g["units"] + g["cancelled"].fillna(0)).clip(lower=0)
    sales = g.rename(columns={"StockCode": "item_id"})[["date", "item_id", "units", "price"]]
    if top:
        base = sales if rank_until is None else sales[sales["date"] <= pd.Timestamp(rank_until)]
        keep = base.groupby("item_id")["units"].sum().sort_values(ascending=False).head(top).index
        sales = sales[sales["item_id"].isin(set(keep))]
    desc = (sold[sold["StockCode"].isin(set(sales["item_id"]))].dropna(subset=["Description"])
            .groupby("StockCode")["Description"].agg(lambda s: s.value_counts().index[0]))
    items = pd.DataFrame({"item_id": sorted(set(sales["item_id"]))})
    items["name"] = items["item_id"].map(desc).fillna("").str.strip().str.title()
    items["description"] = items["name"].str.lower()
    items["category"] = "sc" + items["item_id"].str[:2]
    items["image_path"] = ""
    sales = sales.copy()
    sales["date"] = sales["date"].dt.strftime("%Y-%m-%d")
    return sales.sort_values(["item_id", "date"]).reset_index(drop=True), items


def m5_subset(directory: str):
    """Return ``(sales, items, event_days)`` for the shared M5 subset directory."""
    from pathlib import Path

    d = Path(directory)
    wide = pd.read_csv(d / "sales_train_validation_10series.csv")
    cal = pd.read_csv(d / "calendar.csv")
    prices = pd.read_csv(d / "sell_prices_subset.tsv", sep="\t", index_col=0)
    dcols = [c for c in wide.columns if c.startswith("d_")]
    long = wide.melt(id_vars=["id", "item_id", "dept_id", "cat_id", "store_id"], value_vars=dcols,
                     var_name="d", value_name="units")
    long = long.merge(cal[["d", "date", "wm_yr_wk"]], on="d")
    long = long.merge(prices, on=["store_id", "item_id", "wm_yr_wk"], how="left")
    long = long.sort_values(["id", "date"])
    long["sell_price"] = long.groupby("id")["sell_price"].transform(lambda s: s.ffill().bfill())
    # M5 items are listed before their first sale; keep rows from the first priced week on
    long = long[long["sell_price"].notna()]
    sales = pd.DataFrame({"date": long["date"], "item_id": long["id"], "units": long["units"].astype(float),
                          "price": long["sell_price"]})
    items = wide[["id", "item_id", "dept_id", "cat_id", "store_id"]].copy()
    items = pd.DataFrame({"item_id": items["id"], "name": items["item_id"].str.replace("_", " ").str.lower(),
                          "description": (items["cat_id"] + " " + items["dept_id"].str.replace("_", " ") + " store "
                                          + items["store_id"].str.replace("_", " ")).str.lower(),
                          "category": items["dept_id"], "image_path": ""})
    ev = cal.loc[cal["event_name_1"].notna(), "date"].tolist()
    return sales.reset_index(drop=True), items.reset_index(drop=True), ev


def _unused():  # pragma: no cover
    return np
