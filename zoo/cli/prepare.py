"""`zoo prepare [--recipes DIR] [--data-dir DIR] [--manual-dir DIR]`: get every dataset ready.

Prepares each dataset the recipes read (the built-in ones by default) and says, per
dataset, whether it is ready, and for a missing one what it is, where it comes from and
the exact place to put it. Offline, `--manual-dir` (or ZOO_TFDS_MANUAL_DIR) names the
folder with TFDS's original files; `--data-dir` (or TFDS_DATA_DIR) is where prepared data
goes. Files TFDS cannot fetch (`zoo-data://` paths in recipes) are looked for under the
data root, ZOO_DATA_DIR or ~/.cache/zoo/data. Idempotent: prepared datasets are only
checked, never rebuilt; archives are extracted once. Exit 0 when all are ready, 2 when
any is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from zoo.config import builtin
from zoo.usecases.prepare import datasets, prepare_one


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo prepare",
        description="Make every dataset the recipes read ready, and say what is missing "
        "and exactly where to put it.",
        epilog="Example: ZOO_TFDS_MANUAL_DIR=~/mnist-files zoo prepare",
    )
    p.add_argument("--recipes", type=Path, metavar="DIR", help="default: the built-in recipes")
    p.add_argument("--data-dir", help="TFDS data directory (default: TFDS_DATA_DIR or ~)")
    p.add_argument("--manual-dir", help="original files (default: ZOO_TFDS_MANUAL_DIR)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    folder = args.recipes if args.recipes is not None else builtin.folder()
    if folder is None or not folder.is_dir():
        print(f"error: --recipes {args.recipes} is not a folder.", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.data_dir:  # Archives are extracted under it too, where the trainer looks.
        os.environ["TFDS_DATA_DIR"] = args.data_dir
    used = datasets(folder)
    missing = 0
    for name, (data, recipes) in sorted(used.items()):
        ready, message = prepare_one(data, args.data_dir, args.manual_dir)
        missing += not ready
        print(
            f"{name}: {'ready' if ready else 'MISSING'} ({message}); used by {', '.join(recipes)}"
        )
    print(f"{len(used) - missing} of {len(used)} datasets ready")
    return 2 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
