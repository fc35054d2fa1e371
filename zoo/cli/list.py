"""`python -m zoo.cli.list [--recipes DIR]`: the registered models and the shipped recipes.

One line per model (name, task, description) and per recipe (path, description), so a
user can pick what to train without opening files. Never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoo.config.schema import Recipe

# The checkout's recipes/ folder (beside the zoo package).
RECIPES_DIR = Path(__file__).resolve().parents[2] / "recipes"


def models() -> list[tuple[str, str, str]]:
    """(name, task, one-line description) of every registered model, sorted by name."""
    from zoo.models.registry import get_model_entry, list_models

    return [(n, get_model_entry(n).task, get_model_entry(n).description) for n in list_models()]


def _first_comment(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def load_recipes(folder: Path = RECIPES_DIR) -> list[tuple[Path, Recipe | None]]:
    """Every recipe in `folder`, validated; None for a base that only exists to be
    extended (it names no model, so it cannot be trained on its own)."""
    from zoo.config.loading import RecipeError, load_recipe

    out: list[tuple[Path, Recipe | None]] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            out.append((path, load_recipe(path)))
        except RecipeError:
            out.append((path, None))
    return out


def recipes(folder: Path = RECIPES_DIR) -> list[tuple[Path, str]]:
    """(path, description) of every recipe in `folder`; a base is described by its first
    comment line, marked `(base)`."""
    return [
        (
            path,
            f"(base) {_first_comment(path)}".strip()
            if recipe is None
            else recipe.description or _first_comment(path),
        )
        for path, recipe in load_recipes(folder)
    ]


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m zoo.cli.list", description=__doc__.splitlines()[0])
    p.add_argument("--recipes", type=Path, default=RECIPES_DIR, metavar="DIR", help="recipe folder")
    args = p.parse_args(argv)
    if not args.recipes.is_dir():
        print(f"error: --recipes {args.recipes} is not a folder.", file=sys.stderr)
        return 2
    rows = models()
    width = max(len(n) for n, _, _ in rows)
    print("models:")
    for name, task, description in rows:
        print(f"  {name:{width}}  {task:14}  {description}")
    found = recipes(args.recipes)
    print("recipes:")
    paths = [_shown(path) for path, _ in found]
    width = max((len(s) for s in paths), default=0)
    for shown, (_, description) in zip(paths, found, strict=True):
        print(f"  {shown:{width}}  {description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
