#!/usr/bin/env python
"""Intent accuracy of the chat engine, through its CLI (python -m chatbot.engine fit|predict), on two sets:

1. Bitext customer support (--data: the folder or the CSV; 27 intents, ``instruction,intent``): a stratified
   80/20 split (seed 0) made here; fit on the 80 %, predict the 20 %.
2. The shop's own phrases: fit on what the shop trains on (chatbot/data/intents.csv + the starter FAQ entries,
   product names as "product"), predict benchmarks/chatbot/shop_heldout.csv, phrases written separately with
   real demo product names (some misspelt) that are masked the way the shop masks them at answer time.

For each classifier kind (TF-IDF + logistic regression; MiniLM sentence vectors on ONNX Runtime + n-grams +
logistic regression) it prints accuracy and macro-F1 on the in-scope questions (top class), accuracy with the
out-of-scope threshold applied, the out-of-scope rejection rate (20 held-out out-of-scope questions, plus the
Bitext model on the same questions), the three worst intents with what they were confused with, fit time and
the classifier's latency for one question (p50/p95 over --latency-n questions, one at a time, in-process).

    nice python benchmarks/chatbot/bench_intents.py --data ../shared/data/chat-intents/
    nice python benchmarks/chatbot/bench_intents.py --data ... --kinds tfidf      # no encoder export
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from chatbot.engine import CatalogIndex, CatalogItem, IntentClassifier  # noqa: E402
from chatbot.engine.entities import MASK  # noqa: E402
from chatbot.engine.intents import OUT_OF_SCOPE  # noqa: E402

HERE = Path(__file__).resolve().parent


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="the chat-intents folder or its Bitext CSV")
    p.add_argument("--kinds", default="tfidf,embedding", help="comma-separated: tfidf, embedding")
    p.add_argument("--sets", default="bitext,shop", help="comma-separated: bitext, shop")
    p.add_argument("--encoder", default=str(ROOT / ".cache" / "chatbot-encoder" / "bench"),
                   help="ONNX encoder folder (exported there first when missing)")
    p.add_argument("--latency-n", type=int, default=200)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "chatbot"), help="where rows are written")
    return p.parse_args(argv)


def bitext_csv(path: Path) -> Path:
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            sys.exit(f"error: no CSV in {path}")
        return files[0]
    return path


def shop_training() -> pd.DataFrame:
    rows = [(r["text"].replace("{product}", MASK), r["intent"])
            for r in csv.DictReader((ROOT / "chatbot" / "data" / "intents.csv").open())]
    for entry in json.loads((ROOT / "chatbot" / "data" / "starter_faq.json").read_text()):
        for text in [entry["question"], *entry["examples"]]:
            rows.append((text, f"faq:{entry['slug']}"))
    return pd.DataFrame(rows, columns=["text", "intent"]).drop_duplicates("text")


def demo_catalog() -> CatalogIndex:
    """The demo shop's product names (adjective x noun), as the shop's live catalog would hold them."""
    from shop.demo.generator import ADJECTIVES, LEAVES

    items, k = [], 0
    for adj in ADJECTIVES:
        for leaf, spec in LEAVES.items():
            k += 1
            items.append(CatalogItem(k, f"{adj} {spec[0]}", f"DS-{k:04d}", leaf.title(), "", {}))
    return CatalogIndex(items)


def cli(*args) -> str:
    run = subprocess.run([sys.executable, "-m", "chatbot.engine", *args], cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"error: chatbot.engine {args[0]} failed:\n{run.stderr[-3000:]}")
    return run.stdout


def evaluate(truth: list[str], pred: list[str], best: list[str]) -> dict:
    from sklearn.metrics import f1_score

    ins = [k for k, t in enumerate(truth) if t != OUT_OF_SCOPE]
    oos = [k for k, t in enumerate(truth) if t == OUT_OF_SCOPE]
    t_in = [truth[k] for k in ins]
    out = {"n": len(ins),
           "accuracy": float(np.mean([best[k] == truth[k] for k in ins])),
           "macro_f1": float(f1_score(t_in, [best[k] for k in ins], average="macro", labels=sorted(set(t_in)),
                                      zero_division=0)),
           "accuracy_with_threshold": float(np.mean([pred[k] == truth[k] for k in ins]))}
    if oos:
        out["oos_rejection"] = float(np.mean([pred[k] == OUT_OF_SCOPE for k in oos]))
        out["n_oos"] = len(oos)
    f1s = f1_score(t_in, [best[k] for k in ins], average=None, labels=sorted(set(t_in)), zero_division=0)
    worst = sorted(zip(sorted(set(t_in)), f1s), key=lambda x: x[1])[:3]
    out["worst"] = []
    for intent, f1 in worst:
        confused = Counter(best[k] for k in ins if truth[k] == intent and best[k] != intent)
        into = Counter(truth[k] for k in ins if best[k] == intent and truth[k] != intent)
        out["worst"].append({"intent": intent, "f1": round(float(f1), 3), "misread_as": dict(confused.most_common(3)),
                             "taken_for_it": dict(into.most_common(3))})
    return out


def latency(model: Path, questions: list[str], n: int) -> tuple[float, float]:
    clf = IntentClassifier.load(model)
    clf.predict(questions[:2])  # load the encoder, warm up
    times = []
    for k in range(n):
        t0 = time.perf_counter()
        clf.predict([questions[k % len(questions)]])
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def run_set(name, train: pd.DataFrame, test: pd.DataFrame, kind: str, args, tmp: Path, extra_oos=None) -> dict:
    ex, q, model, out = tmp / f"{name}-train.csv", tmp / f"{name}-q.csv", tmp / f"{name}-{kind}.bin", \
        tmp / f"{name}-{kind}-pred.csv"
    train[["text", "intent"]].to_csv(ex, index=False)
    test[["text"]].to_csv(q, index=False)
    sets = ["--set", f"encoder_path={args.encoder}", "--set", "tfidf_weight=0.5"] if kind == "embedding" else []
    t0 = time.perf_counter()
    fitted = json.loads(cli("fit", "--examples", str(ex), "--out", str(model), "--kind", kind, *sets).strip()
                        .splitlines()[-1])
    fit_s = time.perf_counter() - t0
    cli("predict", "--model", str(model), "--in", str(q), "--out", str(out))
    pred = pd.read_csv(out, keep_default_na=False)
    clf = IntentClassifier.load(model)
    best = [p.best_intent for p in clf.predict(test.text.tolist())]
    res = evaluate(test.intent.tolist(), pred.intent.tolist(), best)
    res.update(set=name, kind=kind, fit_seconds=round(fit_s, 1), threshold=fitted["threshold"],
               validation_accuracy=fitted.get("accuracy"), n_train=len(train))
    if extra_oos is not None:
        oq = tmp / f"{name}-oos.csv"
        extra_oos[["text"]].to_csv(oq, index=False)
        cli("predict", "--model", str(model), "--in", str(oq), "--out", str(oq) + ".pred")
        res["oos_rejection"] = float((pd.read_csv(str(oq) + ".pred", keep_default_na=False).intent
                                      == OUT_OF_SCOPE).mean())
        res["n_oos"] = len(extra_oos)
    res["latency_ms_p50"], res["latency_ms_p95"] = latency(model, test.text.tolist(), args.latency_n)
    return res


def main(argv=None) -> int:
    args = parse(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if "embedding" in kinds and not (Path(args.encoder) / "encoder.json").exists():
        print(f"exporting the ONNX encoder to {args.encoder} ...", flush=True)
        cli("export-encoder", "--out", args.encoder)
    bitext = pd.read_csv(bitext_csv(Path(args.data)), keep_default_na=False).rename(columns={"instruction": "text"})
    from sklearn.model_selection import train_test_split

    b_train, b_test = train_test_split(bitext[["text", "intent"]], test_size=0.2, stratify=bitext.intent,
                                       random_state=0)
    heldout = pd.read_csv(HERE / "shop_heldout.csv", keep_default_na=False)
    index = demo_catalog()
    heldout["text"] = [index.mask(t) for t in heldout.text]
    oos = heldout[heldout.intent == OUT_OF_SCOPE]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = {s.strip() for s in args.sets.split(",")}
        for kind in kinds:
            done = len(rows)
            if "bitext" in sets:
                rows.append(run_set("bitext", b_train, b_test, kind, args, Path(tmp), extra_oos=oos))
            if "shop" in sets:
                rows.append(run_set("shop", shop_training(), heldout, kind, args, Path(tmp)))
            for r in rows[done:]:
                print(f"{r['set']:6s} {r['kind']:9s} validation acc {r['validation_accuracy']:.3f} | held-out acc "
                      f"{r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
                      f"acc@thr {r['accuracy_with_threshold']:.3f}  OOS rejected {r.get('oos_rejection', 0):.2f} "
                      f"(n={r.get('n_oos', 0)})  fit {r['fit_seconds']} s  latency p50/p95 "
                      f"{r['latency_ms_p50']:.1f}/{r['latency_ms_p95']:.1f} ms  n={r['n']}", flush=True)
                for w in r["worst"]:
                    print(f"         worst: {w['intent']} F1 {w['f1']}  misread as {w['misread_as']}  "
                          f"taken for it {w['taken_for_it']}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "intents.json" if sets >= {"bitext", "shop"} else f"intents-{'-'.join(sorted(sets))}.json"
    (out / name).write_text(json.dumps(rows, indent=1))
    print(f"rows: {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
