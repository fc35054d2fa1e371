"""Prepare every TFDS dataset the shipped recipes use, and say what is ready or missing.

    python tools/prepare_data.py [--recipes DIR] [--data-dir DIR] [--manual-dir DIR]

Offline, `--manual-dir` (or ZOO_TFDS_MANUAL_DIR) names the folder with the original
files; `--data-dir` (or TFDS_DATA_DIR) is where prepared data goes. Idempotent: prepared
datasets are only checked, never rebuilt. Exit 0 when all are ready, 2 when any is
missing (each with what to put where).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # Use the checkout this tool lives in.


def datasets(folder: Path) -> dict[str, list[str]]:
    """TFDS dataset name → the recipes (file names) that use it."""
    from zoo.list import load_recipes

    used: dict[str, list[str]] = {}
    for path, recipe in load_recipes(folder):
        if recipe is not None and recipe.data.source == "tfds":
            used.setdefault(recipe.data.name, []).append(path.name)
    return used


def prepare_one(name: str, data_dir: str | None, manual_dir: str | None) -> tuple[bool, str]:
    """(ready, what happened) for one dataset; preparation errors become the message."""
    from zoo.data.tfds_source import _builder, prepare
    from zoo.errors import ZooError
    from zoo.schema import TfdsData

    config = TfdsData(name=name, data_dir=data_dir, manual_dir=manual_dir)
    try:
        if _builder(config).is_prepared():
            return True, "already prepared"
        builder = prepare(config)
    except ZooError as exc:
        return False, str(exc)
    return True, f"prepared now in {builder.data_dir}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", type=Path, default=REPO / "recipes", metavar="DIR")
    p.add_argument("--data-dir", help="TFDS data directory (default: TFDS_DATA_DIR or ~)")
    p.add_argument("--manual-dir", help="original files (default: ZOO_TFDS_MANUAL_DIR)")
    args = p.parse_args(argv)
    if not args.recipes.is_dir():
        print(f"error: --recipes {args.recipes} is not a folder.", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    used = datasets(args.recipes)
    missing = 0
    for name, recipes in sorted(used.items()):
        ready, message = prepare_one(name, args.data_dir, args.manual_dir)
        missing += not ready
        print(
            f"{name}: {'ready' if ready else 'MISSING'} ({message}); used by {', '.join(recipes)}"
        )
    print(f"{len(used) - missing} of {len(used)} datasets ready")
    return 2 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
