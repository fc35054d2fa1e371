"""`zoo list [--recipes DIR]`: the registered models and the built-in recipes.

Argument parsing and printing only: what the command does, and its rules, is
zoo/usecases/listing.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from zoo.config import builtin
from zoo.usecases.listing import describe, models, survey


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo list", description="The registered models and the built-in recipes."
    )
    p.add_argument("--recipes", type=Path, metavar="DIR", help="list this folder's recipes instead")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    folder = args.recipes if args.recipes is not None else builtin.folder()
    if folder is None or not folder.is_dir():
        where = args.recipes or "zoo's installed recipes/"
        print(f"error: --recipes {where} is not a folder.", file=sys.stderr)
        return 2
    rows = models()
    width = max(len(n) for n, _, _ in rows)
    print("models:")
    for name, task, description in rows:
        print(f"  {name:{width}}  {task:14}  {description}")
    entries = survey(folder)
    described = [describe(e) for e in entries]
    print(f"recipes ({folder}):" if args.recipes is not None else "recipes:")
    name_w = max((len(e.name) for e in entries), default=0)
    data_w = max((len(d) for d, _ in described), default=0)
    for entry, (data, description) in zip(entries, described, strict=True):
        print(f"  {entry.name:{name_w}}  {data:{data_w}}  {description}".rstrip())
    if any("zoo-data://" in data for data, _ in described):
        from zoo.config.paths import data_root

        print(f"zoo-data:// is {data_root()} (ZOO_DATA_DIR, else ~/.cache/zoo/data)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
