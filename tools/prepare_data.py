"""Prepare every dataset the shipped recipes use, and say what is ready or missing.

    python tools/prepare_data.py [--recipes DIR] [--data-dir DIR] [--manual-dir DIR]

Offline, `--manual-dir` (or ZOO_TFDS_MANUAL_DIR) names the folder with the original
files; `--data-dir` (or TFDS_DATA_DIR) is where prepared data goes. Idempotent: prepared
datasets are only checked, never rebuilt. File sources (directory, csv, npz) are read
where their recipes point: archives are extracted once (under the data directory),
npz archives checked for their keys. Exit 0 when all are ready, 2 when any is missing
(each with what to put where).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # Use the checkout this tool lives in.


def datasets(folder: Path) -> dict[str, tuple[Any, list[str]]]:
    """Each dataset the recipes in `folder` read → (its data section, the recipe files).

    A TFDS dataset is named by its TFDS name, a file source by its source and path, so
    recipes sharing data (mnist_cnn, mnist_mlp) prepare it once."""
    from zoo.cli.list import load_recipes

    used: dict[str, tuple[Any, list[str]]] = {}
    for path, recipe in load_recipes(folder):
        if recipe is None:
            continue
        data = recipe.data
        key = data.name if data.source == "tfds" else f"{data.source} {data.path}"
        used.setdefault(key, (data, []))[1].append(path.name)
    return used


def prepare_one(data: Any, data_dir: str | None, manual_dir: str | None) -> tuple[bool, str]:
    """(ready, what happened) for one dataset; preparation errors become the message.

    `--data-dir` / `--manual-dir` replace the recipe's TFDS folders (the tool prepares
    into one place); file sources are read where their recipe points."""
    from zoo.data import ensure_ready
    from zoo.errors import ZooError

    if data.source == "tfds":
        data = data.model_copy(update={"data_dir": data_dir, "manual_dir": manual_dir})
    try:
        return True, ensure_ready(data)
    except ZooError as exc:
        return False, " ".join(str(exc).split())


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
    if args.data_dir:  # Archives are extracted under it too, where the trainer looks.
        os.environ["TFDS_DATA_DIR"] = args.data_dir
    used = datasets(args.recipes)
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
