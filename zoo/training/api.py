"""`zoo.train_recipe`: what `zoo train` does, for notebooks and scripts."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.config.loading import load_recipe, recipe_file
from zoo.config.schema import Recipe

if TYPE_CHECKING:
    from zoo.training.trainer import RunResult


def train_recipe(
    recipe: Recipe | str | os.PathLike[str],
    *,
    overrides: Iterable[str] = (),
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    verbose: int | str = "auto",
) -> RunResult:
    """Train, evaluate and export a recipe (a `Recipe` or a YAML path).

    An unfinished run in `output_dir` (or, with `resume`, the newest unfinished run of the
    recipe under runs/) continues from its last completed epoch.
    Returns a `RunResult` with `.metrics` ({"test": {"accuracy": ...}, ...}) and `.run_dir`.
    """
    from zoo.training import trainer

    source = None
    if not isinstance(recipe, Recipe):
        source = recipe_file(recipe)  # A path, or a built-in recipe's name.
        recipe = load_recipe(recipe, overrides)
    elif overrides:
        raise TypeError("overrides apply to recipe files; pass a path, or use load_recipe().")
    return trainer.run(
        recipe,
        output_dir=output_dir,
        overwrite=overwrite,
        resume=resume,
        verbose=verbose,
        source=source,
    )
