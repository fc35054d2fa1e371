"""Data sets zoo makes itself: `zoo-data://` files derived from data the user has.

Why: a recipe may read a file no publisher offers (recipes/mnist_mod5_transfer.yaml reads
`zoo-data://mnist_mod5.npz`, a task made from MNIST). `zoo prepare` makes such a file when
it is missing, so the recipe works from a wheel. Each entry maps the file's path under the
data root to the module and function that write it; the module is imported only when a
file is made. zoo/config/paths.py `MADE_BY` tells users the same, before any data is read.
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo.config.paths import is_symbolic, relative, resolve

# Path under the data root → "module:function" taking (out, manual_dir) → message.
MAKERS: dict[str, str] = {
    "mnist_mod5.npz": "zoo.data.datasets.mnist_task:make",
}


def make_missing(data: Any, manual_dir: str | None = None) -> str | None:
    """Make the file a data section reads when zoo knows how and it is not there yet;
    the message says what was made, None when there was nothing to make. Raises
    DataError (naming the missing inputs) when the inputs it is made from are absent."""
    path = getattr(data, "path", None)
    if path is None or not is_symbolic(path):
        return None
    target = MAKERS.get(relative(str(path)))
    out = resolve(str(path), must_exist=False)
    if target is None or out.exists():
        return None
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)(out, manual_dir)
