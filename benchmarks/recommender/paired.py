"""Is the served hybrid's lead over TIFU-KNN on the TEST month more than noise? Both models with the settings the
backtest chose on validation (read from its JSON), scored on the same customers; a paired bootstrap over
customers gives the 95 % interval of the NDCG@10 difference, per seed. Run after the backtest, never to choose
anything.

    OMP_NUM_THREADS=1 nice python benchmarks/recommender/paired.py DATA.csv.gz benchmarks/out/or_all.json \\
        [--repeat true] [--seeds 0,1,2]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from recommender.engine import adapters  # noqa: E402
from recommender.engine.config import Config  # noqa: E402
from recommender.engine.data import validate_interactions, validate_items  # noqa: E402
from recommender.engine.evaluate import evaluate, prepare  # noqa: E402
from recommender.engine.hybrid import HybridModel  # noqa: E402
from recommender.engine.tifu import TIFUKNN  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data")
    ap.add_argument("results")
    ap.add_argument("--repeat", default="true")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--draws", type=int, default=10000)
    a = ap.parse_args()
    torch.set_num_threads(1)
    rep = a.repeat.lower() == "true"
    res = json.load(open(a.results))
    rows = {r["model"]: r for r in res["rows"] if r["repeat"] == rep}
    inter, items = adapters.online_retail(a.data)
    inter, items = validate_interactions(inter), validate_items(items)
    test = prepare(inter, items, res["split"]["test"], res["split"]["end"])
    base = evaluate(TIFUKNN(**rows["tifu"]["params"]).fit(test.enc), test, rep, per_row=True)
    p = rows["hybrid"]["params"]
    rng = np.random.default_rng(0)
    print(f"repeat={rep}: TIFU-KNN NDCG@10 {base['NDCG@10']:.4f} on {base['n']} customers")
    for seed in map(int, a.seeds.split(",")):
        cfg = Config.from_dict({**p["dnn"], "seed": seed, "threads": 1})
        hyb = evaluate(HybridModel(cfg, p["tifu"], p["ranker"]).fit(test.enc, test.content), test, rep, per_row=True)
        d = hyb["NDCG@10_rows"] - base["NDCG@10_rows"]
        boot = d[rng.integers(0, len(d), (a.draws, len(d)))].mean(1)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        print(f"seed {seed}: hybrid {hyb['NDCG@10']:.4f}, difference {d.mean():+.4f} (95% interval {lo:+.4f} to "
              f"{hi:+.4f}); hybrid better for {(d > 0).mean():.1%} of customers, worse for {(d < 0).mean():.1%}",
              flush=True)


if __name__ == "__main__":
    main()
