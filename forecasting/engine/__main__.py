"""Command line: ``python -m forecasting.engine {forecast,fit,predict,backtest} ...``

Input errors print ``error: <message>`` on stderr and exit with status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import pandas as pd

from .errors import ArtifactError, ForecastInputError


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


def _config(args):
    cfg = {}
    if getattr(args, "config", None):
        p = Path(args.config)
        if not p.exists():
            raise ForecastInputError(f"config: file not found: {args.config}")
        try:
            cfg.update(json.loads(p.read_text()))
        except json.JSONDecodeError as exc:
            raise ForecastInputError(f"config: {args.config} is not valid JSON ({exc})") from None
    for kv in getattr(args, "set", None) or []:
        if "=" not in kv:
            raise ForecastInputError(f"config: --set expects key=value, got {kv!r}")
        k, v = kv.split("=", 1)
        try:
            cfg[k] = json.loads(v)
        except json.JSONDecodeError:
            cfg[k] = v
    return cfg


def _progress(args):
    if not getattr(args, "progress_json", False):
        return None
    return lambda rec: print(json.dumps(rec), file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m forecasting.engine", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, out=True):
        p.add_argument("--sales", required=True, help="sales CSV: date,item_id,units[,price,views,...]")
        p.add_argument("--items", required=True, help="items CSV: item_id,name,description[,category,image_path]")
        p.add_argument("--config", help="JSON file with config overrides")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="one config override (JSON value)")
        p.add_argument("--progress-json", action="store_true", help="one JSON line per epoch on stderr")
        p.add_argument("-v", "--verbose", action="store_true")
        if out:
            p.add_argument("--out", required=True)

    p = sub.add_parser("forecast", help="train up to --train-until, write the next --horizon days")
    common(p)
    p.add_argument("--train-until", required=True)
    p.add_argument("--horizon", type=int, default=45)
    p.add_argument("--artifact", help="also save the trained artifact here")
    p = sub.add_parser("fit", help="train and save an artifact")
    common(p, out=False)
    p.add_argument("--train-until", help="ignore rows after this date")
    p.add_argument("--artifact", required=True)
    p = sub.add_parser("predict", help="forecast from a saved artifact")
    common(p)
    p.add_argument("--artifact", required=True)
    p.add_argument("--as-of", help="forecast origin (default: last sales date)")
    p.add_argument("--horizon", type=int, default=None)
    p = sub.add_parser("backtest", help="rolling-origin backtest; writes JSON rows")
    common(p)
    p.add_argument("--origins", required=True, help="comma separated YYYY-MM-DD")
    p.add_argument("--horizon", type=int, default=45)
    p.add_argument("--models", default="snaive,ma28,autoets,lgbm,bilstm_mm")
    p.add_argument("--seeds", default="0")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        from . import api
        from . import data as D

        sales = _read_csv(args.sales, "sales")
        items = _read_csv(args.items, "items")
        cfg = _config(args)
        if args.cmd == "forecast":
            fc, art = api.forecast(sales, items, args.train_until, args.horizon, cfg, progress=_progress(args))
            fc.to_csv(args.out, index=False)
            if args.artifact:
                Path(args.artifact).write_bytes(api.save_artifact(art))
        elif args.cmd == "fit":
            until = D.parse_date(args.train_until, "--train-until") if args.train_until else None
            s = D.validate_sales(sales)
            if until is not None:
                s = s[s["date"] <= until]
                if len(s) == 0:
                    raise ForecastInputError(f"sales: no rows on or before --train-until {until.date()}")
            art = api.fit(s, items, cfg, progress=_progress(args), until=until)
            Path(args.artifact).write_bytes(api.save_artifact(art))
        elif args.cmd == "predict":
            p = Path(args.artifact)
            if not p.exists():
                raise ArtifactError(f"artifact: file not found: {args.artifact}")
            art = api.load_artifact(p.read_bytes())
            api.predict(art, sales, items, as_of=args.as_of, horizon=args.horizon).to_csv(args.out, index=False)
        elif args.cmd == "backtest":
            from .backtest import BASELINES, backtest

            models = {m: (None if m in BASELINES else {}) for m in args.models.split(",")}
            rows = backtest(sales, items, [D.parse_date(o, "--origins") for o in args.origins.split(",")],
                            args.horizon, models, [int(s) for s in args.seeds.split(",")], cfg)
            Path(args.out).write_text(json.dumps(rows, indent=1, default=float))
    except (ForecastInputError, ArtifactError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
