"""The one interface every export format implements, and the registry of formats.

A format is one module under `zoo.exporting.formats` defining a `Format` subclass and calling
`register(...)`: the trainer, `zoo export`, the fresh-process check and the serving
benchmark all go through `FORMATS`, so a new format is one file plus one import line in
`zoo/exporting/formats/__init__.py`.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from zoo.errors import ZooError, did_you_mean

if TYPE_CHECKING:
    from collections.abc import Callable

    import keras
    import numpy as np

    from zoo.data import DataInfo

SIGNATURE = "serving_default"
OUTPUT_NAME = "probabilities"


@dataclass(frozen=True)
class Context:
    """What a writer may need beyond the model: the data facts and, for full-integer
    quantisation, a representative sample of raw training inputs."""

    info: DataInfo
    representative: Callable[[], np.ndarray] | None = None


class Format:
    """One export format. `variant` is a format option that yields a separate artifact
    (LiteRT's quantisation); formats without variants take `None`.

    `tolerance(variant)` is the max |Δ| in probabilities allowed against the in-memory
    model, or None when the artifact is checked by test accuracy instead (quantised)."""

    name: ClassVar[str]
    extra: ClassVar[str | None] = None  # pip extra that provides `modules`.
    modules: ClassVar[tuple[str, ...]] = ()
    variants: ClassVar[tuple[str | None, ...]] = (None,)

    plan_order: ClassVar[int] = 50  # Where it comes in a recipe's export plan.

    def planned(self, export: Any) -> list[str | None]:
        """The variants a recipe's `export` section asks of this format (empty: none).
        By default the section's boolean field of the format's name."""
        return [None] if getattr(export, self.name, False) else []

    def target(self, variant: str | None = None) -> str:
        """The artifact's file or folder name inside a run directory."""
        raise NotImplementedError

    def kind(self, variant: str | None = None) -> str:
        """The key naming this artifact in metrics.json (`litert_int8`, `onnx`...)."""
        return self.name if variant in (None, "none") else f"{self.name}_{variant}"

    def tolerance(self, variant: str | None = None) -> float | None:
        return 1e-4

    def require(self) -> None:
        """Raise one ZooError naming the extra to install when a dependency is missing."""
        missing = [m for m in self.modules if not _importable(m)]
        if missing:
            raise ZooError(
                f"Exporting {self.name} needs {', '.join(missing)}, which is not installed; "
                f"install it with: pip install 'keras-recipe-zoo[{self.extra}]'"
            )

    def servable(self, model: keras.Model) -> tuple[Any, keras.Model, dict[str, Any]]:
        """(front, servable, notes): the part of `model` this format can express, the
        layer in front of it that it cannot (None when it takes the whole model), and
        what the record should say about the split."""
        return None, model, {}

    def write(
        self, model: keras.Model, path: Path, ctx: Context, variant: str | None = None
    ) -> Path:
        """Write the artifact at `path` (atomically: temp name, then rename)."""
        raise NotImplementedError

    def load(self, path: Path) -> Callable[[np.ndarray], np.ndarray]:
        """In a fresh process: the artifact as a function from an input batch to
        probabilities."""
        raise NotImplementedError


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


def get(name: str) -> Format:
    """The format called `name`; an unknown name is a ZooError with a suggestion."""
    from zoo.exporting import formats  # noqa: F401  Fills FORMATS.

    if name in ALIASES:
        name = ALIASES[name]
    if name not in FORMATS:
        raise ZooError(
            f"Unknown export format {name!r}.{did_you_mean(name, [*FORMATS, *ALIASES])} "
            f"Choose one of {', '.join(sorted(FORMATS))}."
        )
    return FORMATS[name]


# `tflite` is the deprecated name of LiteRT without quantisation (same model.tflite file).
ALIASES = {"tflite": "litert"}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # sys.modules[name] = None blocks it: ValueError.
        return False


def replace(tmp: Path, final: Path) -> None:
    """Move a finished temporary artifact into place, replacing an older one."""
    if final.is_dir():
        shutil.rmtree(final)
    elif final.exists():
        final.unlink()
    tmp.rename(final)
