"""Publish a complete set of recommendations in bulk and swap it in atomically.

    publication = publish(version, customers, products)

``customers``: ``user_id, rank, product_id, score`` (rank 1 = best); ``products``: ``source_id, rank, product_id,
score, basis`` (basis "bought" or "content"). Rows are checked first (a frame that cannot be published raises
PublishError and changes nothing); products that are inactive or out of stock right now and users or products that
no longer exist are dropped, then each customer's and each product's list is stored as one row (products in rank
order). Rows go in with COPY (PostgreSQL) or batched INSERTs (SQLite) in short transactions while the publication
is ``writing``; one more short transaction makes it ``live``. A reader never sees half a publication, and one that fails half-way is deleted: the live one keeps
serving. The previous publication is kept until the next swap (readers that started just before it still find
their rows), older ones are deleted.
"""
from __future__ import annotations

import json
import logging
import time
import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from registry.models import ModelVersion
from registry.publish import Publications, chunk_rows
from shop import analytics
from shop.imports import bulk_insert

from .models import CustomerRecommendation, ProductRecommendation, Publication
from .results import clear_cache

log = logging.getLogger(__name__)
CUSTOMER_COLUMNS = ["user_id", "rank", "product_id", "score"]
PRODUCT_COLUMNS = ["source_id", "rank", "product_id", "score", "basis"]
PUBLICATIONS = Publications(Publication, [CustomerRecommendation, ProductRecommendation])


class PublishError(ValueError):
    """The recommendations cannot be published as given; nothing was changed."""


def _check(frame: pd.DataFrame, columns: list[str], key: str, what: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PublishError(f"{what} recommendations miss column(s) {missing}")
    df = frame[columns].copy()
    for col in (key, "product_id", "rank"):
        ids = pd.to_numeric(df[col], errors="coerce")
        if ids.isna().any() or (ids != ids.round()).any():
            bad = df.loc[ids.isna() | (ids != ids.round()), col].iloc[0]
            raise PublishError(f"{what} recommendations: {col} {bad!r} is not an integer id")
        df[col] = ids.astype(np.int64)
    score = pd.to_numeric(df["score"], errors="coerce")
    if not np.isfinite(score.to_numpy(float)).all():
        raise PublishError(f"{what} recommendations: a score is not a finite number")
    df["score"] = score.astype(float)
    return df


def _existing_users(ids: np.ndarray, chunk: int = 20_000) -> np.ndarray:
    """Which of these user ids exist (in chunks: a query has at most 65,535 parameters)."""
    found = []
    model = get_user_model()
    for a in range(0, len(ids), chunk):
        found += model.objects.filter(pk__in=ids[a:a + chunk].tolist()).values_list("pk", flat=True)
    return np.array(found, np.int64)


def _prepare(df: pd.DataFrame, key: str, allowed: np.ndarray, keys_allowed: np.ndarray, top: int | None):
    """Keep rows whose product may be shown and whose key exists, in rank order per key, at most ``top``."""
    df = df[df["product_id"].isin(allowed) & df[key].isin(keys_allowed)]
    if key == "source_id":
        df = df[df["product_id"] != df["source_id"]]
    df = df.sort_values([key, "rank"], kind="stable").drop_duplicates([key, "product_id"])
    if top:
        df = df[df.groupby(key).cumcount() < top]
    return df.reset_index(drop=True)


def _lists(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per key: ``products`` and ``scores`` as JSON arrays (rank order), plus the key's other columns."""
    if df.empty:
        return pd.DataFrame(columns=[key, "products", "scores"])
    keys, starts = np.unique(df[key].to_numpy(), return_index=True)
    bounds = list(starts[1:]) + [len(df)]
    pids, scores = df["product_id"].to_numpy(), df["score"].to_numpy()
    out = pd.DataFrame({
        key: keys,
        "products": [json.dumps(pids[a:b].tolist()) for a, b in zip(starts, bounds)],
        "scores": [json.dumps([float(f"{x:.6g}") for x in scores[a:b]]) for a, b in zip(starts, bounds)],
    })
    if "basis" in df.columns:
        out["basis"] = df["basis"].to_numpy()[starts]
    return out


def publish(version: ModelVersion, customers: pd.DataFrame, products: pd.DataFrame, *,
            top: int | None = None, on_swap=None) -> Publication:
    """``on_swap()`` runs inside the swap's transaction (a training run promotes its version there, so the serving
    version and the live publication change together; if it raises, nothing changes)."""
    t0 = time.perf_counter()
    cust = _check(customers, CUSTOMER_COLUMNS, "user_id", "customer")
    prod = _check(products, PRODUCT_COLUMNS, "source_id", "product")
    bad_basis = set(prod["basis"]) - set(ProductRecommendation.Basis.values)
    if bad_basis:
        raise PublishError(f"product recommendations: unknown basis {sorted(bad_basis)}")
    catalog = analytics.catalog_items()
    showable = catalog.loc[catalog["is_active"] & (catalog["stock"] > 0), "item_id"].to_numpy(np.int64)
    users = _existing_users(cust["user_id"].unique())
    cust = _prepare(cust, "user_id", showable, users, top)
    prod = _prepare(prod, "source_id", showable, catalog["item_id"].to_numpy(np.int64), top)
    if cust.empty and prod.empty:
        raise PublishError("no recommendation is left to publish (no known customer or product, or nothing in stock)")
    content = int(prod.loc[prod["basis"] == "content", "source_id"].nunique())
    customer_lists, product_lists = _lists(cust, "user_id"), _lists(prod, "source_id")
    PUBLICATIONS.cleanup_abandoned()
    pub = Publication.objects.create(
        version=version, n_customers=len(customer_lists), n_customer_items=len(cust),
        n_products=len(product_lists), n_product_items=len(prod), n_content_products=content)
    with PUBLICATIONS.writing(pub):
        _write(CustomerRecommendation, pub, customer_lists, ["user_id", "products", "scores"])
        _write(ProductRecommendation, pub, product_lists, ["source_id", "products", "scores", "basis"])
        PUBLICATIONS.swap(pub, on_swap)
    Publication.objects.filter(pk=pub.pk).update(seconds=time.perf_counter() - t0)
    pub.refresh_from_db()
    log.info("published %d recommendations for %d customers and %d for %d products by %s in %.1fs",
             pub.n_customer_items, pub.n_customers, pub.n_product_items, pub.n_products, version.label, pub.seconds)
    PUBLICATIONS.delete_old()
    clear_cache()  # this process's readers see it at once (others within RECOMMENDER_READ_CACHE_SECONDS)
    return pub


def _write(model, pub: Publication, df: pd.DataFrame, columns: list[str]) -> None:
    chunk = chunk_rows()
    cols = ["publication_id", *columns]
    for a in range(0, len(df), chunk):
        part = df.iloc[a:a + chunk]
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # rows of a publication that is not live yet: a crash before the commit reaches the disk only loses
                # a half-written publication, which the next publish deletes anyway
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL synchronous_commit = off")
            bulk_insert(model, cols, zip([pub.pk] * len(part), *(part[c].tolist() for c in columns)))


def live_publication() -> Publication | None:
    return PUBLICATIONS.live()
