"""Print every results table (markdown) from benchmarks/out/*.json; RESULTS.md pastes this output.

    python benchmarks/forecasting/make_tables.py [--dir benchmarks/out]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tables import BANDS, table

MAIN = ["WAPE", "WAPE_total", "MAE", "RMSE", "MASE", "bias", "R2", "dir_acc", "dir_AUC", "cover80"]


def load(p):
    return [r for r in json.loads(Path(p).read_text()) if "model" in r] if Path(p).exists() else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="benchmarks/out")
    d = Path(ap.parse_args().dir)
    r = load(d / "retail.json")
    if r:
        print("### Online Retail, top 500, mean over origins\n")
        print(table(r, MAIN))
        print("\n### Online Retail by origin\n")
        print(table(r, ["WAPE", "MAE", "MASE", "bias", "dir_AUC", "cover80"], by_origin=True))
        print("\n### Online Retail by horizon band (WAPE), mean over origins\n")
        print(table(r, BANDS))
    m = load(d / "m5.json")
    if m:
        print("\n### M5 subset (10 series), mean over origins\n")
        print(table(m, MAIN))
        print("\n### M5 by horizon band (WAPE)\n")
        print(table(m, BANDS))
    de = load(d / "demo.json")
    if de:
        for g in ("warm", "cold (history hidden)"):
            print(f"\n### Demo shop, {g} items\n")
            print(table(de, MAIN, group=g))
        print("\n### Demo shop, warm items by horizon band (WAPE)\n")
        print(table(de, BANDS, group="warm"))
    ab = load(d / "ablation.json")
    if ab:
        for g in ("warm", "cold (history hidden)"):
            print(f"\n### Demo shop ablation with the pretrained backbone, {g} items\n")
            print(table(ab, MAIN, group=g))
    hm = json.loads((d / "hm_photos.json").read_text()) if (d / "hm_photos.json").exists() else []
    if hm:
        print("\n### H&M photos: what the frozen features tell (5-fold CV accuracy; majority label in brackets)\n")
        names = ["product group", "colour", "pattern"]
        print("| backbone | weights | " + " | ".join(names) + " | images/s (first pass) |")
        print("|---|---|" + "---|" * (len(names) + 1))
        for r in hm:
            cells = " | ".join(f"{r[n + ' accuracy']:.3f} ({r[n + ' majority']:.3f})" for n in names)
            print(f"| {r['backbone']} | {r['weights']} | {cells} | {r['images_per_s']:.1f} |")
    c = load(d / "coldstart.json")
    if c:
        for g in ("cold (history hidden)", "warm"):
            print(f"\n### Online Retail cold start, {g} items\n")
            print(table(c, MAIN, group=g))
    s = [x for x in json.loads((d / "speed.json").read_text())] if (d / "speed.json").exists() else []
    if s:
        print("\n### Speed\n")
        print("| measure | value |\n|---|---|")
        for k, v in s[-1].items():
            print(f"| {k} | {v:.2f} |" if isinstance(v, float) else f"| {k} | {v} |")


if __name__ == "__main__":
    main()
