"""`zoo list [--recipes DIR]`: the registered models and the built-in recipes.

One line per model (name, task, description) and per recipe (name, where it reads its
data, description), so a user can pick what to train (`zoo train NAME`) without opening
files. A recipe that fails validation is listed as `INVALID` with its first problem; a
base that other recipes extend is listed as `(base)`. Never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.config import builtin

if TYPE_CHECKING:
    from zoo.config.schema import Recipe


@dataclass(frozen=True)
class Entry:
    """One recipe file as `zoo list` sees it: valid (`recipe`), a base, or invalid."""

    path: Path
    recipe: Recipe | None = None
    base: bool = False
    problem: str = ""

    @property
    def name(self) -> str:
        return self.path.stem


def models() -> list[tuple[str, str, str]]:
    """(name, task, one-line description) of every registered model, sorted by name."""
    from zoo.models.registry import get_model_entry, list_models

    return [(n, get_model_entry(n).task, get_model_entry(n).description) for n in list_models()]


def _first_comment(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    return next((x.lstrip("# ").strip() for x in lines if x.startswith("#")), "")


def _extended(folder: Path) -> set[str]:
    """Stems of the files some recipe in `folder` extends (read leniently: a broken file
    is reported by its own validation, not here)."""
    import yaml

    out: set[str] = set()
    for path in folder.glob("*.yaml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        parent = data.get("extends") if isinstance(data, dict) else None
        if isinstance(parent, str):
            out.add(Path(parent).stem)
    return out


def survey(folder: Path) -> list[Entry]:
    """Every recipe in `folder`, validated; never raises for one bad file."""
    from zoo.config.loading import RecipeError, load_recipe

    bases = _extended(folder)
    out: list[Entry] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            out.append(Entry(path, recipe=load_recipe(path)))
        except RecipeError as exc:
            first = exc.problems[0] if exc.problems else exc
            out.append(Entry(path, base=path.stem in bases, problem=str(first)))
    return out


def load_recipes(folder: Path | None = None) -> list[tuple[Path, Recipe | None]]:
    """(path, recipe) for every recipe in `folder` (default: the built-in ones); None for
    a base or an invalid file, which cannot be trained on its own."""
    where = folder if folder is not None else builtin.folder()
    return [(e.path, e.recipe) for e in survey(where)] if where else []


def data_source(data: Any) -> str:
    """Where a recipe's `data` section reads from, e.g. `tfds:mnist` or
    `npz:zoo-data://medmnist/adrenalmnist3d.npz` (symbolic paths shown as written)."""
    from zoo.config import sources

    return sources.of(data).where(data)


def describe(entry: Entry) -> tuple[str, str]:
    """(data column, description column) for one recipe line."""
    if entry.recipe is not None:
        description = entry.recipe.description or _first_comment(entry.path)
        return data_source(entry.recipe.data), description
    if entry.base:
        return "-", f"(base) {_first_comment(entry.path)}".strip()
    return "-", f"INVALID: {entry.problem}"
