"""Built-in recipes: the YAML files shipped with zoo, found by name (`zoo train mnist_cnn`).

The files live in the checkout's top-level `recipes/`; a wheel installs the same files as
`zoo/recipes/` (setup.cfg maps the package `zoo.recipes` onto `recipes/`). `folder()` takes
the installed copy when there is one, else the checkout's, so a wheel, an editable install
and a plain checkout on PYTHONPATH all see the same recipes. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # .../zoo
_CANDIDATES = (_PACKAGE / "recipes", _PACKAGE.parent / "recipes")  # wheel, then checkout


def folder() -> Path | None:
    """The folder holding the built-in recipes, or None when neither place has one."""
    for candidate in _CANDIDATES:
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    return None


def names() -> list[str]:
    """Every built-in recipe's name (its file name without `.yaml`), sorted."""
    where = folder()
    return sorted(p.stem for p in where.glob("*.yaml")) if where else []


def find(name: str) -> Path | None:
    """The built-in recipe called `name` (`mnist_cnn` or `mnist_cnn.yaml`), or None.

    Only a bare name counts: anything with a folder in it is a path, never a built-in."""
    if not name or "/" in name or "\\" in name:
        return None
    where = folder()
    if where is None:
        return None
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    path = where / f"{stem}.yaml"
    return path if path.is_file() else None
