"""How much of each demo product's demand level can be read from (a) the generator's true colour/pattern/phrases,
(b) the frozen image features the model actually gets (ResNets: random weights, no ImageNet file offline;
EfficientNet-Lite0: the pretrained weights shipped in a package). 5-fold ridge regression of
log(mean daily units + 0.02) per product; reports cross-validated R^2.

    python benchmarks/forecasting/demo_signal.py --data DIR --cache benchmarks/out/cache [--arch efficientnet_lite0]
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mlcore.images import ImageFeatureExtractor  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--arch", default="efficientnet_lite0")
    a = ap.parse_args()
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import cross_val_predict

    d = Path(a.data)
    it = pd.read_csv(d / "items.csv")
    tr = pd.read_csv(d / "truth.csv").set_index("item_id").reindex(it.item_id)
    s = pd.read_csv(d / "sales.csv")
    lvl = np.log(s.groupby("item_id").units.mean() + 0.02).reindex(it.item_id).to_numpy()
    ext = ImageFeatureExtractor(a.arch, cache_dir=a.cache)
    grids, ok = ext.region_features(it.image_path.tolist())
    pooled = grids.mean(1)
    z = (pooled - pooled.mean(0)) / (pooled.std(0) + 1e-6)

    def r2(X):
        p = cross_val_predict(RidgeCV(alphas=np.logspace(-3, 4, 15)), X, lvl, cv=5)
        return 1 - ((p - lvl) ** 2).sum() / ((lvl - lvl.mean()) ** 2).sum()

    cat = pd.get_dummies(it.category).to_numpy(float)
    col = pd.get_dummies(tr.colour).to_numpy(float)
    pat = pd.get_dummies(tr.pattern).to_numpy(float)
    ph = tr.phrases.str.get_dummies("|").to_numpy(float)
    rows = [("category", cat), ("category + true phrases (text signal)", np.hstack([cat, ph])),
            ("category + true colour + pattern (photo signal)", np.hstack([cat, col, pat])),
            ("category + colour + pattern + phrases (all)", np.hstack([cat, col, pat, ph])),
            (f"category + {a.arch} pooled features ({'pretrained' if ext.pretrained else 'random'} weights)",
             np.hstack([cat, z]))]
    print("| inputs | CV R^2 of log demand level |\n|---|---|")
    for name, X in rows:
        print(f"| {name} | {r2(X):.3f} |")


if __name__ == "__main__":
    main()
