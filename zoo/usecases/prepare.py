"""`zoo prepare [RECIPE ...] [--recipes DIR] [--data-dir DIR] [--manual-dir DIR]`.

Prepares each dataset the named recipes read (built-in names like `mnist_cnn`, or YAML
paths), else every recipe in `--recipes DIR` (the built-in ones by default), and says, per
dataset, whether it is ready, and for a missing one what it is, where it comes from and
the exact place to put it. Offline, `--manual-dir` (or ZOO_TFDS_MANUAL_DIR) names the
folder with TFDS's original files; `--data-dir` (or TFDS_DATA_DIR) is where prepared data
goes. Files TFDS cannot fetch (`zoo-data://` paths in recipes) are looked for under the
data root, ZOO_DATA_DIR or ~/.cache/zoo/data; files zoo derives itself (mnist_mod5.npz)
are made there. Idempotent: prepared datasets are only checked, never rebuilt; archives
are extracted once. Exit 0 when all are ready, 2 when any is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Used = dict[str, tuple[Any, list[str]]]


def _key(data: Any) -> str:
    """A TFDS dataset is named by its TFDS name, a file source by its source and path, so
    recipes sharing data (mnist_cnn, mnist_mlp) prepare it once."""
    return data.name if data.source == "tfds" else f"{data.source} {data.path}"


def _group(recipes: Iterable[tuple[str, Any]]) -> Used:
    used: Used = {}
    for shown, recipe in recipes:
        used.setdefault(_key(recipe.data), (recipe.data, []))[1].append(shown)
    return used


def datasets_of(recipes: Sequence[str | Path]) -> Used:
    """Each dataset the named recipes (built-in names or YAML paths) read → (its data
    section, the recipes). A recipe that does not load raises its RecipeError: the user
    named it, so it is not skipped."""
    from zoo.config.loading import load_recipe, recipe_file

    return _group((recipe_file(r).name, load_recipe(r)) for r in recipes)


def datasets(folder: Path) -> Used:
    """Each dataset the recipes in `folder` read → (its data section, the recipe files).

    A TFDS dataset is named by its TFDS name, a file source by its source and path, so
    recipes sharing data (mnist_cnn, mnist_mlp) prepare it once."""
    from zoo.usecases.listing import load_recipes

    return _group((p.name, r) for p, r in load_recipes(folder) if r is not None)


def prepare_one(data: Any, data_dir: str | None, manual_dir: str | None) -> tuple[bool, str]:
    """(ready, what happened) for one dataset; preparation errors become the message.

    `--data-dir` / `--manual-dir` replace the recipe's TFDS folders (the command prepares
    into one place); file sources are read where their recipe points."""
    from zoo.data import ensure_ready
    from zoo.data.derived import make_missing
    from zoo.errors import ZooError

    if data.source == "tfds":
        data = data.model_copy(update={"data_dir": data_dir, "manual_dir": manual_dir})
    try:
        made = make_missing(data, manual_dir)
        ready = ensure_ready(data)
        return True, f"{made}; {ready}" if made else ready
    except ZooError as exc:
        return False, " ".join(str(exc).split())
