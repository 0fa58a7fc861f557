"""Command line: ``python -m recommender.engine {recommend,similar,fit,predict,backtest} ...``.

Flags shared with the forecaster's CLI (see :mod:`mlcore.cli`): ``--train-until``, ``--artifact`` (``--model`` is
its deprecated old name), ``--out``, ``--config``, ``--set``, ``--epochs``, ``--seed``, ``--device``,
``--progress-json``, ``--image-weights``, ``--image-cache``.
Errors in the input print ``error: <message>`` on stderr and exit with status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd

from mlcore import cli

from .errors import RecommenderError, RecommenderInputError


def _config(a) -> dict:
    cfg = cli.read_config(a, RecommenderInputError)
    if getattr(a, "no_repeat", False):
        cfg["repeat"] = False
    return cfg


def _train(a):
    from . import api
    from .data import parse_cutoff, read_interactions, read_items, INTERACTION_COLUMNS

    raw = read_interactions(a.interactions)
    items = read_items(a.items) if a.items else None
    if a.train_until:
        # decide what is "before the cutoff" from the timestamp alone; nothing after it is looked at further
        if "timestamp" not in raw.columns:
            missing = [c for c in INTERACTION_COLUMNS if c not in raw.columns]
            raise RecommenderInputError(f"interactions are missing required column(s) {', '.join(missing)}")
        try:
            cutoff = parse_cutoff(a.train_until)
        except (ValueError, TypeError):
            raise RecommenderInputError(f"--train-until {a.train_until!r} is not a date (YYYY-MM-DD)") from None
        ts = pd.to_datetime(raw["timestamp"], errors="coerce", utc=True, format="mixed").dt.tz_convert(None)
        if ts.isna().any():
            bad = raw.loc[ts.isna(), "timestamp"].astype(str).head(3).tolist()
            raise RecommenderInputError(f"interactions have {int(ts.isna().sum())} unreadable timestamp(s), e.g. {bad}")
        raw = raw[(ts < cutoff).to_numpy()]
        if len(raw) == 0:
            raise RecommenderInputError(f"no interactions before --train-until {a.train_until}")
    image_features = None
    if getattr(a, "image_arch", "none") != "none" and items is not None:
        from .images import image_features_for

        image_features = image_features_for(items, arch=a.image_arch, cache_dir=a.image_cache,
                                            weights_path=a.image_weights) or None
    art = api.fit(raw, items, _config(a), progress=cli.progress_from(a), image_features=image_features,
                  train_until=a.train_until or None)
    if getattr(a, "artifact", None):
        art.save(a.artifact)
        print(f"saved artifact ({len(art.item_ids) - 1} items, {len(art.user_ids) - 1} users, trained until "
              f"{art.trained_until}) to {a.artifact}", file=sys.stderr)
    return art


def _available(path):
    if not path:
        return None
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise RecommenderInputError(f"available-items file not found: {path}") from None
    if "item_id" not in df.columns:
        raise RecommenderInputError(f"available-items file {path} needs an item_id column")
    return df["item_id"].tolist()


_write = cli.write_csv


def cmd_recommend(a):
    from . import api

    art = _train(a)
    _write(api.recommend(art, None, a.k, available_items=_available(a.available)), a.out)


def cmd_similar(a):
    from . import api

    art = _train(a)
    _write(api.similar(art, None, a.k, available_items=_available(a.available)), a.out)


def cmd_fit(a):
    _train(a)


def cmd_predict(a):
    from . import api
    from .api import Artifact

    art = Artifact.load(a.artifact)
    avail = _available(a.available)
    if a.similar:
        _write(api.similar(art, None, a.k, available_items=avail), a.out)
        return
    users = None
    if a.users:
        try:
            users = pd.read_csv(a.users, dtype=str, keep_default_na=False)
        except FileNotFoundError:
            raise RecommenderInputError(f"users file not found: {a.users}") from None
        if "user_id" not in users.columns:
            raise RecommenderInputError(f"users file {a.users} needs a user_id column")
        users = users["user_id"].tolist()
    _write(api.recommend(art, users, a.k, available_items=avail), a.out)


def cmd_backtest(a):
    from .backtest import run

    run(a)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m recommender.engine",
                                 description="Deep recommender: train on logged interactions, recommend, evaluate.")
    sub = ap.add_subparsers(dest="command", required=True)

    def train_args(p, need_until=False, artifact_help="also save the trained model here"):
        p.add_argument("--interactions", required=True, help="CSV: timestamp,user_id,item_id,event[,quantity][,session_id]")
        p.add_argument("--items", help="CSV: item_id,name,description,category,price[,image_path]")
        cli.add_train_until(p, required=need_until, help="YYYY-MM-DD: train on events up to the end of this day only")
        cli.add_config(p)
        cli.add_artifact(p, artifact_help, old=("--model",))
        p.add_argument("--no-repeat", action="store_true", help="never recommend items a user already purchased")
        p.add_argument("--image-arch", default="none",
                       choices=["none", "auto", "efficientnet_lite0", "resnet18", "resnet50", "resnet101"],
                       help="embed the items' image_path photos with this frozen CNN (cache shared with the "
                            "forecaster); auto: resnet101 with --image-weights, else pretrained efficientnet_lite0")
        p.add_argument("--image-cache", help="folder for cached image features (shared with the forecaster)")
        p.add_argument("--image-weights", help="local ImageNet weights file (else random weights, with a warning)")

    p = sub.add_parser("recommend", help="train up to --train-until and write user_id,rank,item_id,score")
    train_args(p, need_until=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--available", help="CSV with an item_id column: the only items that may be recommended")
    cli.add_out(p)
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("similar", help="train and write item_id,rank,similar_item_id,score")
    train_args(p)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--available")
    cli.add_out(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("fit", help="train and save an artifact")
    train_args(p, artifact_help="model file to write (required)")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("predict", help="recommend (or --similar) from a saved artifact")
    cli.add_artifact(p, "model file to read (required)", old=("--model",))
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--users", help="CSV with a user_id column (default: every user seen in training)")
    p.add_argument("--available")
    p.add_argument("--similar", action="store_true")
    cli.add_out(p)
    p.set_defaults(func=cmd_predict)

    from .backtest import add_arguments

    p = sub.add_parser("backtest", help="tune on validation, test over seeds against the baselines")
    add_arguments(p)
    p.set_defaults(func=cmd_backtest)
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    if a.command in ("fit", "predict"):
        cli.require(ap, a, "--artifact")
    if getattr(a, "k", 1) is not None and getattr(a, "k", 1) <= 0:
        print(f"error: --k must be a positive integer, got {a.k}", file=sys.stderr)
        return 2
    return cli.run(lambda: a.func(a), (RecommenderError, FileNotFoundError, PermissionError, IsADirectoryError))
