"""The command-line dialect both engines share.

Flags with one meaning in both CLIs: ``--train-until YYYY-MM-DD`` (train on data up to and including that day),
``--artifact PATH`` (the model file written by training or read by prediction), ``--out PATH`` (where results go;
``-`` is stdout), ``--config`` (a JSON object, or a JSON file holding one), ``--set KEY=VALUE`` (one option),
``--epochs``, ``--seed``, ``--device``, ``--progress-json`` (one JSON line per epoch on stderr).
A renamed flag keeps working under its old name and says on stderr that it is deprecated.
Errors in the input print ``error: <message>`` on stderr and exit with status 2, without a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from .progress import json_lines


class DeprecatedAlias(argparse.Action):
    """The old spelling of a renamed flag: stores into the new flag's destination and warns on stderr."""

    def __init__(self, option_strings, dest, new: str, **kw):
        self.new = new
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_artifact(p: argparse.ArgumentParser, help: str, old: tuple = ()) -> None:
    p.add_argument("--artifact", metavar="PATH", help=help)
    for flag in old:
        p.add_argument(flag, dest="artifact", action=DeprecatedAlias, new="--artifact", help=argparse.SUPPRESS)


def add_train_until(p: argparse.ArgumentParser, required: bool = False,
                    help: str = "YYYY-MM-DD: train on data up to and including this day only") -> None:
    p.add_argument("--train-until", metavar="YYYY-MM-DD", required=required, help=help)


def add_out(p: argparse.ArgumentParser, help: str = "output file ('-' or omitted: stdout)") -> None:
    p.add_argument("--out", metavar="PATH", default="-", help=help)


def add_config(p: argparse.ArgumentParser, training: bool = True) -> None:
    p.add_argument("--config", help="options: a JSON object, or a JSON file holding one")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="one option (the value is read as JSON, else as text); repeatable")
    if training:
        p.add_argument("--epochs", type=int, help="shortcut for --set epochs=N")
        p.add_argument("--seed", type=int, help="shortcut for --set seed=N")
        p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="shortcut for --set device=...")
        p.add_argument("--progress-json", action="store_true", help="print one JSON line per epoch on stderr")


def require(p: argparse.ArgumentParser, args: argparse.Namespace, *flags: str) -> None:
    """argparse's 'required' check for flags that also have a deprecated alias."""
    missing = [f for f in flags if getattr(args, f.lstrip("-").replace("-", "_"), None) in (None, "")]
    if missing:
        p.error(f"the following arguments are required: {', '.join(missing)}")


def read_config(args: argparse.Namespace, error: type[Exception]) -> dict:
    """The options given by ``--config``, ``--set`` and the shortcuts, in that order (later wins)."""
    cfg: dict = {}
    src = getattr(args, "config", None)
    if src:
        text = src
        if not src.lstrip().startswith("{"):
            path = Path(src)
            if not path.exists():
                raise error(f"config: file not found: {src}")
            text = path.read_text()
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise error(f"config: {src if src != text else '--config'} is not valid JSON ({exc})") from None
        if not isinstance(loaded, dict):
            raise error("config: expected a JSON object of options")
        cfg.update(loaded)
    for kv in getattr(args, "set", None) or []:
        if "=" not in kv:
            raise error(f"config: --set expects KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        try:
            cfg[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            cfg[k.strip()] = v
    for key in ("epochs", "seed", "device"):
        if getattr(args, key, None) is not None:
            cfg[key] = getattr(args, key)
    return cfg


def progress_from(args: argparse.Namespace):
    return json_lines() if getattr(args, "progress_json", False) else None


def write_csv(df, out: str | None) -> None:
    if out in (None, "-"):
        df.to_csv(sys.stdout, index=False)
    else:
        df.to_csv(out, index=False)
        print(f"wrote {len(df)} rows to {out}", file=sys.stderr)


def read_artifact_file(path: str, error: type[Exception]) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"artifact file not found: {path}") from None
    except IsADirectoryError:
        raise error(f"artifact path is a folder, not a file: {path}") from None


def run(fn: Callable[[], None], errors: tuple) -> int:
    """Call ``fn``; an expected error prints ``error: <message>`` on stderr and gives exit status 2."""
    try:
        fn()
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
