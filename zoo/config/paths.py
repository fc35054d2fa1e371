"""One data root for the files zoo cannot download: `zoo-data://` paths in recipes.

A recipe names such a file symbolically, e.g. `path: zoo-data://imdb/aclImdb.tar.gz`. The
path stays symbolic in the resolved recipe (a run's recipe.yaml reads the same on another
machine or after the checkout moves) and becomes a real file only when data is read:
`$ZOO_DATA_DIR/imdb/aclImdb.tar.gz`, or without ZOO_DATA_DIR under the user's cache
(`<cache root>/data`, see zoo/settings.py). `SOURCES` says where each file
the built-in recipes name comes from, so a missing one is reported with what to fetch and
the exact place to put it. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from zoo.errors import DataError
from zoo.settings import data_root

SCHEME = "zoo-data://"

# Relative path under the data root → where to get the file (for messages and `zoo prepare`).
SOURCES: dict[str, str] = {
    "imdb/aclImdb.tar.gz": (
        "the Large Movie Review Dataset v1.0 (Maas et al., 2011), "
        "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz (saved under this name)"
    ),
    "medmnist/adrenalmnist3d.npz": (
        "MedMNIST v2 AdrenalMNIST3D, adrenalmnist3d.npz from https://zenodo.org/records/10519652"
    ),
}
# Files zoo makes itself (zoo/data/derived.py): path → how to get them made.
MADE_BY: dict[str, str] = {
    "mnist_mod5.npz": (
        "`zoo prepare mnist_mod5_transfer`, which makes it from MNIST's original files "
        "(the folder named by --manual-dir or ZOO_TFDS_MANUAL_DIR)"
    ),
}


def is_symbolic(path: str | os.PathLike[str]) -> bool:
    """True for a `zoo-data://...` path (kept as it is when a recipe is loaded)."""
    return str(path).startswith(SCHEME)


def relative(path: str) -> str:
    """`zoo-data://imdb/x.tar.gz` → `imdb/x.tar.gz`; refuses paths that leave the root."""
    rest = str(path)[len(SCHEME) :]
    pure = PurePosixPath(rest)
    if not rest or pure.is_absolute() or ".." in pure.parts:
        raise DataError(
            f"data.path {path!r}: a {SCHEME} path names a file below the data root, e.g. "
            f"{SCHEME}imdb/aclImdb.tar.gz (no leading '/', no '..')."
        )
    return str(pure)


def source_of(path: str) -> str:
    """Where the file behind a `zoo-data://` path comes from, or a generic hint."""
    return SOURCES.get(relative(path), "the dataset's publisher (see the recipe's header)")


def how_to_get(path: str, real: Path) -> str:
    """The sentence saying how the missing file behind `path` gets to `real`."""
    made_by = MADE_BY.get(relative(path))
    if made_by is not None:
        return f"zoo makes this file: run {made_by}"
    return f"Get {source_of(path)}, and put it at {real}"


def resolve(path: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
    """The local file or folder `path` names: `zoo-data://` paths under `data_root()`,
    anything else as it is. A missing `zoo-data://` file raises `DataError` saying what
    it is, where it comes from and exactly where to put it."""
    if not is_symbolic(path):
        return Path(path)
    rel = relative(str(path))
    real = data_root() / rel
    if must_exist and not real.exists():
        raise DataError(
            f"data.path {path} is not there: expected {real}. {how_to_get(str(path), real)} "
            "(the data root is ZOO_DATA_DIR, else "
            "~/.cache/zoo/data; `zoo prepare` lists every missing file)."
        )
    return real
