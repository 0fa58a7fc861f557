import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--config", '{"epochs": 2, "dim": 16, "hidden": 32, "n_negatives": 32, "batch_size": 128, "history_len": 10}']


def test_cli_error_exits_nonzero_without_traceback(tmp_path, data):
    inter, items = data
    bad = inter.copy()
    bad.loc[5, "event"] = "like"
    ip = tmp_path / "i.csv"
    bad.to_csv(ip, index=False)
    items.to_csv(tmp_path / "t.csv", index=False)
    r = subprocess.run([sys.executable, "-m", "recommender.engine", "recommend", "--interactions", str(ip), "--items",
                        str(tmp_path / "t.csv"), "--train-until", "2024-12-31", "--out", str(tmp_path / "r.csv")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "error: unknown event type(s) ['like']" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_missing_column_and_missing_file(tmp_path, data, capsys):
    inter, items = data
    ip = tmp_path / "i.csv"
    inter.drop(columns=["item_id"]).to_csv(ip, index=False)
    assert main(["fit", "--interactions", str(ip), "--model", str(tmp_path / "m.bin")]) == 2
    assert "missing required column(s) item_id" in capsys.readouterr().err
    assert main(["fit", "--interactions", str(tmp_path / "nope.csv"), "--model", str(tmp_path / "m.bin")]) == 2
    assert "interactions file not found" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("timestamp,user_id,item_id,event\n")
    assert main(["fit", "--interactions", str(empty), "--model", str(tmp_path / "m.bin")]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["predict", "--model", str(ip)]) == 2
    assert "not a recommender artifact" in capsys.readouterr().err


def test_recommend_never_reads_past_train_until(tmp_path, data):
    """Bar 2: change every event after the cutoff (users, items, events, even invalid values): same output."""
    inter, items = data
    cutoff = "2024-02-10"
    a = tmp_path / "a.csv"
    inter.to_csv(a, index=False)
    after = pd.to_datetime(inter["timestamp"]) >= pd.Timestamp(cutoff) + pd.Timedelta(days=1)
    assert after.sum() > 20 and (~after).sum() > 20
    changed = inter.copy()
    rng = np.random.default_rng(1)
    n = int(after.sum())
    changed.loc[after, "user_id"] = [f"intruder{k}" for k in rng.integers(0, 5, n)]
    changed.loc[after, "item_id"] = [f"sku{k}" for k in rng.integers(0, 40, n)]
    changed.loc[after, "event"] = rng.choice(["view", "cart", "purchase", "bogus"], n)
    changed.loc[after, "quantity"] = 99
    b = tmp_path / "b.csv"
    changed.to_csv(b, index=False)
    tp = tmp_path / "items.csv"
    items.to_csv(tp, index=False)
    outs = []
    for src in (a, b):
        out = tmp_path / f"rec_{src.stem}.csv"
        assert main(["recommend", "--interactions", str(src), "--items", str(tp), "--train-until", cutoff,
                     "--k", "5", "--out", str(out)] + FAST) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    rec = pd.read_csv(tmp_path / "rec_a.csv", dtype=str)
    assert list(rec.columns) == ["user_id", "rank", "item_id", "score"]
    seen_before = set(inter.loc[~after & (inter["user_id"] != ""), "user_id"])
    assert seen_before <= set(rec["user_id"])
    assert not any(u.startswith("intruder") for u in rec["user_id"])


def test_cli_fit_predict_similar(tmp_path, csv_files):
    ip, tp = csv_files
    m = tmp_path / "m.bin"
    assert main(["fit", "--interactions", str(ip), "--items", str(tp), "--model", str(m)] + FAST) == 0
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(m), "--k", "3", "--out", str(out)]) == 0
    p = pd.read_csv(out)
    assert (p.groupby("user_id").size() == 3).all()
    sim = tmp_path / "s.csv"
    assert main(["similar", "--interactions", str(ip), "--items", str(tp), "--k", "4", "--out", str(sim)] + FAST) == 0
    s = pd.read_csv(sim)
    assert list(s.columns) == ["item_id", "rank", "similar_item_id", "score"]
    assert (s["item_id"] != s["similar_item_id"]).all()


def test_cli_backtest_on_documented_csv(tmp_path, csv_files, capsys):
    ip, tp = csv_files
    out = tmp_path / "bt.json"
    assert main(["backtest", "--dataset", "csv", "--data", str(ip.parent), "--val-cut", "2024-02-01",
                 "--test-cut", "2024-02-15", "--end", "2024-03-02", "--models", "popularity,itemknn,dnn", "--quick",
                 "--seeds", "1", "--target-events", "purchase,cart", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| dnn |" in text and "| itemknn |" in text
    import json

    rows = json.loads(out.read_text())["rows"]
    assert {r["model"] for r in rows} == {"popularity", "itemknn", "dnn"}
    assert main(["backtest", "--dataset", "csv", "--data", str(ip.parent), "--models", "nope"]) == 2
