"""Do the frozen image features carry what a merchant's photos show? On the 208 real H&M product photos of the
shared sample, predict each article's product group, colour and pattern (H&M's own labels) from the pooled
features of each backbone (5-fold cross-validated logistic regression on standardised features), against always
guessing the most common label. Also times the extraction (first pass and from the content-hash cache).

    python benchmarks/forecasting/hm_photos.py --data ../shared/data/hm-sample --cache /tmp/hm-cache \\
        [--archs efficientnet_lite0,resnet18,resnet101]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mlcore.images import ImageFeatureExtractor  # noqa: E402

TARGETS = {"product group": "product_group_name", "colour": "perceived_colour_master_name",
           "pattern": "graphical_appearance_name"}


def _labels(series: pd.Series, min_count: int = 5) -> np.ndarray:
    """Labels with fewer than ``min_count`` photos are pooled into 'other' (5-fold CV needs a few of each)."""
    counts = series.value_counts()
    return series.where(series.map(counts) >= min_count, "other").to_numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--archs", default="efficientnet_lite0,resnet18,resnet101")
    ap.add_argument("--out", default=None, help="also write the rows as JSON here")
    a = ap.parse_args()
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    torch.set_num_threads(1)
    d = Path(a.data)
    art = pd.read_csv(d / "articles.csv", dtype=str)
    art = art[art["image"].notna()].reset_index(drop=True)
    paths = [str(d / p) for p in art["image"]]
    labels = {name: _labels(art[col].fillna("unknown")) for name, col in TARGETS.items()}
    rows = []
    for arch in a.archs.split(","):
        ext = ImageFeatureExtractor(arch, cache_dir=a.cache)
        t = time.time()
        grids, ok = ext.region_features(paths)
        first = time.time() - t
        t = time.time()
        ImageFeatureExtractor(arch, cache_dir=a.cache).region_features(paths)
        cached = time.time() - t
        X = grids.mean(1)[ok]
        row = {"backbone": arch, "weights": "ImageNet (packaged)" if ext.pretrained else "random", "photos": int(ok.sum()),
               "images_per_s": len(paths) / first, "cached_images_per_s": len(paths) / max(cached, 1e-9)}
        for name, y in labels.items():
            y = y[ok]
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
            pred = cross_val_predict(clf, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
            row[f"{name} accuracy"] = float((pred == y).mean())
            row[f"{name} majority"] = float(pd.Series(y).value_counts(normalize=True).iloc[0])
            row[f"{name} classes"] = int(len(set(y)))
        rows.append(row)
        print(json.dumps(row), flush=True)
    names = list(TARGETS)
    print("\n| backbone | weights | " + " | ".join(f"{n}: accuracy (majority)" for n in names)
          + " | images/s first pass | cached |")
    print("|---|---|" + "---|" * (len(names) + 2))
    for r in rows:
        cells = " | ".join(f"{r[f'{n} accuracy']:.3f} ({r[f'{n} majority']:.3f}, {r[f'{n} classes']} classes)"
                           for n in names)
        print(f"| {r['backbone']} | {r['weights']} | {cells} | {r['images_per_s']:.1f} | "
              f"{r['cached_images_per_s']:.0f} |")
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
