"""Markdown tables from the JSON rows written by bench.py.

    python benchmarks/forecasting/tables.py benchmarks/out/retail.json [--by-origin] [--bands]

Cells are mean +- standard deviation over seeds, first per origin, then the per-origin means and standard
deviations are averaged over origins (the +- is the mean seed spread, not the spread across origins).
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

MAIN = ["WAPE", "MAE", "RMSE", "MASE", "bias", "R2", "dir_acc", "dir_AUC", "cover80"]
BANDS = ["WAPE_1-7", "WAPE_8-28", "WAPE_29-45"]


def _fmt(m, s, nseeds):
    if pd.isna(m):
        return "-"
    if nseeds > 1 and not pd.isna(s):
        return f"{m:.3f} ± {s:.3f}"
    return f"{m:.3f}"


def table(rows, metrics, by_origin=False, group=None):
    df = pd.DataFrame(rows)
    if "group" not in df.columns:
        df["group"] = "all"
    if group is not None:
        df = df[df["group"] == group]
    metrics = [m for m in metrics if m in df.columns]
    order = list(dict.fromkeys(df["model"]))
    agg = df.groupby(["model", "origin"])[metrics].agg(["mean", "std"])
    nseeds = df.groupby(["model", "origin"])["seed"].nunique()
    lines = []
    head = ["model"] + (["origin"] if by_origin else ["origins"]) + ["seeds"] + metrics
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for m in order:
        sub = agg.loc[m]
        ns = int(nseeds.loc[m].max())
        if by_origin:
            for o in sub.index:
                cells = [_fmt(sub.loc[o, (k, "mean")], sub.loc[o, (k, "std")], ns) for k in metrics]
                lines.append("| " + " | ".join([m, o, str(ns)] + cells) + " |")
        else:
            cells = [_fmt(sub[(k, "mean")].mean(), sub[(k, "std")].mean(), ns) for k in metrics]
            lines.append("| " + " | ".join([m, str(len(sub)), str(ns)] + cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--by-origin", action="store_true")
    ap.add_argument("--bands", action="store_true")
    ap.add_argument("--group", default=None)
    ap.add_argument("--metrics", default=None)
    a = ap.parse_args()
    rows = [r for r in json.load(open(a.json)) if "model" in r]
    metrics = a.metrics.split(",") if a.metrics else (BANDS + ["MAE"] if a.bands else MAIN)
    print(table(rows, metrics, a.by_origin, a.group))


if __name__ == "__main__":
    main()
    _ = np
