"""Adapters from the shared public data sets to the documented (interactions, items) format.

Each returns two DataFrames: interactions ``timestamp,user_id,item_id,event,quantity,session_id`` and items
``item_id,name,description,category,price,image_path``.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .errors import RecommenderInputError

# StockCodes of the UCI Online Retail data that are not products (postage, fees, manual adjustments, vouchers)
NON_PRODUCT_CODES = frozenset({"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS",
                               "B", "POSTAGE", "CARRIAGE", "ADJUST", "ADJUST2", "TEST001", "TEST002"})


def _check(df: pd.DataFrame, cols, name):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise RecommenderInputError(f"{name}: missing column(s) {', '.join(missing)}")


def _product_type(desc: str) -> str:
    """Online Retail has no category: the last word of the description is its product type (HOLDER, BAG...)."""
    words = re.findall(r"[A-Z]+", str(desc).upper())
    return words[-1] if words else ""


def online_retail(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """UCI Online Retail: one purchase event per order line of a known customer.

    Dropped: cancellations (InvoiceNo starting with C), rows without CustomerID, quantity or price <= 0, and
    non-product StockCodes (postage, fees, manual adjustments, gift vouchers).
    """
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    _check(df, ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
           "Online Retail")
    code = df["StockCode"].astype(str).str.strip().str.upper()
    keep = (~df["InvoiceNo"].astype(str).str.startswith("C") & df["CustomerID"].notna() & (df["Quantity"] > 0)
            & (df["UnitPrice"] > 0) & ~code.isin(NON_PRODUCT_CODES) & ~code.str.startswith("GIFT_"))
    df = df[keep].assign(StockCode=code[keep])
    cust = df["CustomerID"].astype(str).str.replace(r"\.0$", "", regex=True)
    inter = pd.DataFrame({
        "timestamp": pd.to_datetime(df["InvoiceDate"]),
        "user_id": cust.values,
        "item_id": df["StockCode"].values,
        "event": "purchase",
        "quantity": df["Quantity"].astype(float).values,
        "session_id": df["InvoiceNo"].astype(str).values,
    }).sort_values("timestamp", kind="stable").reset_index(drop=True)
    g = df.groupby("StockCode")
    name = g["Description"].agg(lambda s: s.dropna().mode().iloc[0] if s.notna().any() else "")
    items = pd.DataFrame({"item_id": name.index, "name": name.values, "description": "",
                          "category": [_product_type(x) for x in name.values],
                          "price": g["UnitPrice"].median().reindex(name.index).values, "image_path": ""})
    return inter, items


TAOBAO_EVENTS = {"pv": "view", "fav": "cart", "cart": "cart", "buy": "purchase"}


def taobao(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Taobao UserBehavior excerpt (no header: user_id,item_id,category_id,behavior_type,unix_time).
    pv -> view, cart -> cart, fav -> cart (an intent signal between a view and a purchase), buy -> purchase."""
    df = pd.read_csv(path, header=None, names=["user_id", "item_id", "category_id", "behavior", "ts"],
                     dtype={"user_id": str, "item_id": str, "category_id": str})
    unknown = sorted(set(df["behavior"].unique()) - set(TAOBAO_EVENTS))
    if unknown:
        raise RecommenderInputError(f"Taobao: unknown behavior type(s) {unknown}")
    inter = pd.DataFrame({
        "timestamp": pd.to_datetime(df["ts"], unit="s"), "user_id": df["user_id"], "item_id": df["item_id"],
        "event": df["behavior"].map(TAOBAO_EVENTS), "quantity": 1.0, "session_id": "",
    }).sort_values("timestamp", kind="stable").reset_index(drop=True)
    cat = df.drop_duplicates("item_id", keep="last")
    items = pd.DataFrame({"item_id": cat["item_id"].values, "name": "", "description": "",
                          "category": cat["category_id"].values, "price": np.nan, "image_path": ""})
    return inter, items


def diginetica(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DIGINETICA sample (';'-separated session_id;user_id;item_id;timeframe;eventdate): every row is a view.
    Sessions are anonymous users (user_id is left empty so the session is the user); timestamp = eventdate +
    timeframe milliseconds."""
    df = pd.read_csv(path, sep=";", dtype={"session_id": str, "item_id": str})
    _check(df, ["session_id", "item_id", "timeframe", "eventdate"], "Diginetica")
    ts = pd.to_datetime(df["eventdate"]) + pd.to_timedelta(df["timeframe"], unit="ms")
    inter = pd.DataFrame({"timestamp": ts, "user_id": "", "item_id": df["item_id"], "event": "view",
                          "quantity": 1.0, "session_id": df["session_id"]})
    inter = inter.sort_values(["timestamp"], kind="stable").reset_index(drop=True)
    ids = pd.unique(df["item_id"])
    items = pd.DataFrame({"item_id": ids, "name": "", "description": "", "category": "", "price": np.nan,
                          "image_path": ""})
    return inter, items


ADAPTERS = {"online_retail": online_retail, "taobao": taobao, "diginetica": diginetica}
