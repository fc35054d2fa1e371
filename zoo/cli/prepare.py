"""`zoo prepare [RECIPE ...] [--recipes DIR] [--data-dir DIR] [--manual-dir DIR]`.

Argument parsing and printing only: what the command does, and its rules, is
zoo/usecases/prepare.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo prepare",
        description="Make the datasets recipes read ready (only the named recipes', else "
        "every built-in recipe's), and say what is missing and exactly where to put it. "
        "Exit 0 when all are ready, 2 when any is missing.",
        epilog="Examples: ZOO_TFDS_MANUAL_DIR=~/mnist-files zoo prepare mnist_cnn; "
        "zoo prepare mnist_mod5_transfer (makes mnist_mod5.npz from the MNIST files); "
        "zoo prepare (every built-in recipe)",
    )
    p.add_argument(
        "recipes_named",
        nargs="*",
        metavar="RECIPE",
        help="a built-in recipe's name or a YAML path (default: every recipe in --recipes)",
    )
    p.add_argument("--recipes", type=Path, metavar="DIR", help="default: the built-in recipes")
    p.add_argument("--data-dir", help="TFDS data directory (default: TFDS_DATA_DIR or ~)")
    p.add_argument("--manual-dir", help="original files (default: ZOO_TFDS_MANUAL_DIR)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import guarded
    from zoo.config import builtin
    from zoo.usecases.prepare import datasets, datasets_of, prepare_one

    if args.recipes_named and args.recipes is not None:
        print("error: give RECIPE names or --recipes DIR, not both.", file=sys.stderr)
        return 2
    folder = args.recipes if args.recipes is not None else builtin.folder()
    if not args.recipes_named and (folder is None or not folder.is_dir()):
        print(f"error: --recipes {args.recipes} is not a folder.", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.data_dir:  # Archives are extracted under it too, where the trainer looks.
        os.environ["TFDS_DATA_DIR"] = args.data_dir

    def body() -> int:
        used = datasets_of(args.recipes_named) if args.recipes_named else datasets(folder)
        missing = 0
        for name, (data, recipes) in sorted(used.items()):
            ready, message = prepare_one(data, args.data_dir, args.manual_dir)
            missing += not ready
            state = "ready" if ready else "MISSING"
            print(f"{name}: {state} ({message}); used by {', '.join(recipes)}")
        print(f"{len(used) - missing} of {len(used)} datasets ready")
        return 2 if missing else 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
