"""Exploratory DNN runs on the Online Retail VALIDATION period only (train < 2011-08-01, evaluate August 2011),
NDCG@10 after every epoch in both repeat settings. Used to choose the history and training-mode defaults; the
test period is never touched here.

    OMP_NUM_THREADS=1 nice python benchmarks/recommender/explore_dnn.py DATA.csv.gz '[{"epochs": 3, "repeat": false}]'
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import torch  # noqa: E402

from recommender.engine import adapters  # noqa: E402
from recommender.engine.data import validate_interactions, validate_items  # noqa: E402
from recommender.engine.evaluate import DNNScorer, _Wrap, evaluate, prepare  # noqa: E402

torch.set_num_threads(1)
inter, items = adapters.online_retail(sys.argv[1])
inter, items = validate_interactions(inter), validate_items(items)
val = prepare(inter, items, "2011-08-01", "2011-09-01")
for v in json.loads(sys.argv[2]):
    t0 = time.time()

    def hook(m, ep, v=v, t0=t0):
        r = {rep: round(evaluate(_Wrap(m), val, rep)["NDCG@10"], 4) for rep in (True, False)}
        print(v, "epoch", ep, "val NDCG@10 repeat=True/False:", r[True], r[False], f"{time.time() - t0:.0f}s", flush=True)

    DNNScorer(**v).fit(val.enc, val.content, epoch_hook=hook)
