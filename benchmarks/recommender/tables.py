"""Print the Markdown tables of RESULTS.md from the JSON files the backtest wrote.

    python benchmarks/recommender/tables.py benchmarks/out/or_baselines.json benchmarks/out/or_dnn.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from recommender.engine.backtest import describe  # noqa: E402
from recommender.engine.evaluate import METRIC_KEYS as KEYS  # noqa: E402

ORDER = ["popularity", "itemknn", "bpr", "adaboost", "gru", "dnn", "tifu", "hybrid"]


def main(paths):
    rows, info = [], None
    for p in paths:
        d = json.load(open(p))
        rows += d["rows"]
        info = info or d
    print(f"Split: validation [{info['split']['val']}, {info['split']['test']}), test [{info['split']['test']}, "
          f"{info['split']['end']}). Test set: {info['test']}.\n")
    for rep in (True, False):
        # one model run in several files (e.g. DNN training modes): keep its row with the best *validation* score
        keep = {}
        for r in rows:
            if r["repeat"] == rep and (r["model"] not in keep or r["val_NDCG@10"] > keep[r["model"]]["val_NDCG@10"]):
                keep[r["model"]] = r
        sel = sorted(keep.values(), key=lambda r: ORDER.index(r["model"]))
        print(f"**{'repeats count (already-had items may be targets and recommended)' if rep else 'new items only (already-had items excluded from targets and lists)'}**\n")
        print("| model | chosen on validation | val NDCG@10 | " + " | ".join(KEYS) + " | fit s |")
        print("|---|---|---|" + "---|" * len(KEYS) + "---|")
        best = max(r["NDCG@10"] for r in sel)
        for r in sel:
            params = describe(r["model"], r["params"])
            cells = []
            for k in KEYS:
                if k not in r:  # results written before the metric existed
                    cells.append("–")
                    continue
                c = f"{r[k]:.4f}" + (f" ± {r[k + '_sd']:.4f}" if r["n_seeds"] > 1 else "")
                cells.append(f"**{c}**" if k == "NDCG@10" and r[k] == best else c)
            print(f"| {r['model']} | {params} | {r['val_NDCG@10']:.4f} | " + " | ".join(cells) + f" | {r['fit_s']:.0f} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
