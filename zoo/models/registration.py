"""Make `keras.saving.load_model` know zoo's layers and losses after `import zoo`,
without TensorFlow.

`import zoo` must not import Keras (that imports TensorFlow: seconds, and the CLI's
`--help` must stay instant), yet a `.keras` file holding `zoo>CleanText` only loads once
zoo/models/layers.py has registered it. So `install()` (called by zoo/__init__.py) imports
the layers module at once when Keras is already imported, and otherwise adds a finder
that imports it right after Keras finishes importing. The finder removes itself on first
use and changes nothing else about how Keras is found or loaded.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

# The modules whose classes (`zoo>...`) `.keras` files may name.
REGISTERED = ("zoo.models.layers", "zoo.models.losses")


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps Keras's own loader to import zoo's layers after it."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "keras":
            return None
        sys.meta_path.remove(self)  # One shot; also keeps find_spec below from recursing.
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            _import_registered()

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _import_registered() -> None:
    for name in REGISTERED:
        importlib.import_module(name)


def install() -> None:
    """Register zoo's layers and losses now if Keras is loaded, else as soon as it is."""
    if "keras" in sys.modules:
        _import_registered()
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())
