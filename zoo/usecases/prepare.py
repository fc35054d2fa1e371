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

from pathlib import Path
from typing import Any


def datasets(folder: Path) -> dict[str, tuple[Any, list[str]]]:
    """Each dataset the recipes in `folder` read → (its data section, the recipe files).

    A TFDS dataset is named by its TFDS name, a file source by its source and path, so
    recipes sharing data (mnist_cnn, mnist_mlp) prepare it once."""
    from zoo.usecases.listing import load_recipes

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

    `--data-dir` / `--manual-dir` replace the recipe's TFDS folders (the command prepares
    into one place); file sources are read where their recipe points."""
    from zoo.data import ensure_ready
    from zoo.errors import ZooError

    if data.source == "tfds":
        data = data.model_copy(update={"data_dir": data_dir, "manual_dir": manual_dir})
    try:
        return True, ensure_ready(data)
    except ZooError as exc:
        return False, " ".join(str(exc).split())
