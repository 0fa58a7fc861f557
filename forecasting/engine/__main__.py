"""Command line: ``python -m forecasting.engine {forecast,fit,predict,backtest} ...``

Flags shared with the recommender's CLI (see :mod:`mlcore.cli`): ``--train-until``, ``--artifact``, ``--out``,
``--config``, ``--set``, ``--epochs``, ``--seed``, ``--device``, ``--progress-json``, ``--image-weights``,
``--image-cache``. Input errors print ``error: <message>`` on stderr and exit with status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import pandas as pd

from mlcore import cli

from .errors import ForecastError, ForecastInputError

# Older scripts set the weights file through this variable; the engine itself reads no environment, so the CLI
# (a program, not the library) still honours it for them, with a deprecation warning.
_DEPRECATED_WEIGHTS_ENV = "FORECAST_RESNET_WEIGHTS"


def _read_csv(path, what):
    p = Path(path)
    if not p.exists():
        raise ForecastInputError(f"{what}: file not found: {path}")
    try:
        return pd.read_csv(p, dtype={"item_id": str}, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise ForecastInputError(f"{what}: file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ForecastInputError(f"{what}: cannot parse CSV {path}: {exc}") from None


def _config(args) -> dict:
    cfg = cli.read_config(args, ForecastInputError)
    if args.image_weights:
        cfg["image_weights"] = args.image_weights
    elif "image_weights" not in cfg and os.environ.get(_DEPRECATED_WEIGHTS_ENV):
        print(f"warning: {_DEPRECATED_WEIGHTS_ENV} is deprecated; use --image-weights", file=sys.stderr)
        cfg["image_weights"] = os.environ[_DEPRECATED_WEIGHTS_ENV]
    if args.image_cache:
        cfg["image_cache_dir"] = args.image_cache
    return cfg


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m forecasting.engine", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--sales", required=True, help="sales CSV: date,item_id,units[,price,views,...]")
        p.add_argument("--items", required=True, help="items CSV: item_id,name,description[,category,image_path]")
        cli.add_config(p)
        p.add_argument("--image-weights", metavar="FILE", help="local ImageNet weights of the image backbone")
        p.add_argument("--image-cache", metavar="DIR", help="folder for cached image features")
        p.add_argument("-v", "--verbose", action="store_true")

    p = sub.add_parser("forecast", help="train up to --train-until, write the next --horizon days")
    common(p)
    cli.add_train_until(p, required=True)
    p.add_argument("--horizon", type=int, default=45)
    cli.add_out(p, "forecast CSV item_id,date,p10,p50,p90 ('-': stdout)")
    cli.add_artifact(p, "also save the trained model here")
    p = sub.add_parser("fit", help="train and save an artifact")
    common(p)
    cli.add_train_until(p)
    cli.add_artifact(p, "model file to write (required)")
    p = sub.add_parser("predict", help="forecast from a saved artifact")
    common(p)
    cli.add_artifact(p, "model file to read (required)")
    p.add_argument("--as-of", help="forecast origin (default: last sales date)")
    p.add_argument("--horizon", type=int, default=None)
    cli.add_out(p, "forecast CSV item_id,date,p10,p50,p90 ('-': stdout)")
    p = sub.add_parser("backtest", help="rolling-origin backtest; writes JSON rows")
    common(p)
    p.add_argument("--origins", required=True, help="comma separated YYYY-MM-DD")
    p.add_argument("--horizon", type=int, default=45)
    p.add_argument("--models", default="snaive,ma28,autoets,lgbm,bilstm_mm")
    p.add_argument("--seeds", default="0")
    cli.add_out(p, "JSON rows ('-': stdout)")
    return ap


def _run(args) -> None:
    from . import api
    from . import data as D

    sales = _read_csv(args.sales, "sales")
    items = _read_csv(args.items, "items")
    cfg = _config(args)
    progress = cli.progress_from(args)
    if args.cmd == "forecast":
        fc, art = api.forecast(sales, items, args.train_until, args.horizon, cfg, progress=progress)
        cli.write_csv(fc, args.out)
        if args.artifact:
            Path(args.artifact).write_bytes(art.to_bytes())
    elif args.cmd == "fit":
        art = api.fit(sales, items, cfg, progress=progress, train_until=args.train_until)
        Path(args.artifact).write_bytes(art.to_bytes())
        print(f"saved artifact ({len(art.scalers)} items with history, trained until {art.train_until}) to "
              f"{args.artifact}", file=sys.stderr)
    elif args.cmd == "predict":
        art = api.Artifact.from_bytes(cli.read_artifact_file(args.artifact, api.ArtifactError))
        cli.write_csv(api.predict(art, sales, items, as_of=args.as_of, horizon=args.horizon,
                                  image_weights=cfg.get("image_weights"),
                                  image_cache_dir=cfg.get("image_cache_dir")), args.out)
    elif args.cmd == "backtest":
        from .backtest import BASELINES, backtest

        models = {m: (None if m in BASELINES else {}) for m in args.models.split(",")}
        rows = backtest(sales, items, [D.parse_date(o, "--origins") for o in args.origins.split(",")],
                        args.horizon, models, [int(s) for s in args.seeds.split(",")], cfg)
        text = json.dumps(rows, indent=1, default=float)
        sys.stdout.write(text + "\n") if args.out in (None, "-") else Path(args.out).write_text(text)


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.cmd in ("fit", "predict"):
        cli.require(ap, args, "--artifact")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return cli.run(lambda: _run(args), (ForecastError,))


if __name__ == "__main__":
    sys.exit(main())
