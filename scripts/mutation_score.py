"""Score of the last mutation run (scripts/mutation.sh): per module, killed / all mutants, from mutmut's results in
mutants/. A mutant counts as killed when a test failed (or ran past its time limit) with it in place; survivors and
mutants no test reaches count against the score. Also counts the lines excluded with '# pragma: no mutate'.

    python scripts/mutation_score.py [--only FILE] [GLOB ...]          the score of the mutants matching GLOBs
    python scripts/mutation_score.py --sample N --seed S [GLOB ...]    print N random mutant names per module
                                                                       (generating the mutants first if needed)
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLED = {1, 3, 36, -24, 24, 152, 255}  # a test failed, pytest crashed, or it ran past its time limit


def results(globs: list[str]) -> dict[str, dict[str, int | None]]:
    """{module: {mutant name: exit code or None (not run)}} for the mutants matching ``globs``."""
    out: dict[str, dict] = {}
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        module = ".".join(meta.relative_to(ROOT / "mutants").with_suffix("").with_suffix("").parts)
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if not globs or any(fnmatch.fnmatch(name, g) for g in globs):
                out.setdefault(module, {})[name] = code
    return out


def generate() -> None:
    """Write mutants/ as `mutmut run` does, without running anything (mutmut 3.8's own steps)."""
    from mutmut.__main__ import copy_also_copy_files, copy_src_dir, create_mutants

    os.chdir(ROOT)
    os.makedirs("mutants", exist_ok=True)
    out, sys.stdout = sys.stdout, sys.stderr  # mutmut prints each file's name
    try:
        copy_src_dir()
        copy_also_copy_files()
        create_mutants(1)
    finally:
        sys.stdout = out


def sample(globs: list[str], n: int, seed: int) -> list[str]:
    generate()  # (re)writes only the mutants of files changed since the last run
    found = results(globs)
    rng = random.Random(seed)
    names = []
    for module in sorted(found):
        pool = sorted(found[module])
        names += rng.sample(pool, min(n, len(pool)))
    return names


def score(globs: list[str], only: set[str] | None) -> int:
    rows: dict[str, Counter] = {}
    for module, codes in results(globs).items():
        for name, code in codes.items():
            if only is not None and name not in only:
                continue
            c = rows.setdefault(module, Counter())
            c["all"] += 1
            c["killed" if code in KILLED else "survived" if code == 0 else "no tests" if code in (5, 33)
              else "not run" if code is None else "other"] += 1
    if not rows:
        print("no mutation results in mutants/: run scripts/mutation.sh first")
        return 1
    total = Counter()
    print(f"{'module':30} {'killed':>6} {'all':>5} {'score':>6}  survived  no-tests  not-run  other  pragma-lines")
    for module, c in sorted(rows.items()):
        path = ROOT / Path(*module.split(".")).with_suffix(".py")
        c["pragma"] = sum("pragma: no mutate" in line for line in path.read_text().splitlines())
        total.update(c)
        print(f"{module:30} {c['killed']:6} {c['all']:5} {c['killed'] / c['all']:6.1%}  {c['survived']:8}"
              f"  {c['no tests']:8}  {c['not run']:7}  {c['other']:5}  {c['pragma']:12}")
    print(f"{'total':30} {total['killed']:6} {total['all']:5} {total['killed'] / total['all']:6.1%}  "
          f"{total['survived']:8}  {total['no tests']:8}  {total['not run']:7}  {total['other']:5}  {total['pragma']:12}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("globs", nargs="*")
    ap.add_argument("--sample", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", help="a file of mutant names (one a line): score only these")
    a = ap.parse_args()
    if a.sample:
        print("\n".join(sample(a.globs, a.sample, a.seed)))
        return 0
    only = set(Path(a.only).read_text().split()) if a.only else None
    return score(a.globs, only)


if __name__ == "__main__":
    sys.exit(main())
