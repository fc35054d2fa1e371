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
    from collections.abc import Callable, Iterable, Iterator, Sequence

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


@dataclass(frozen=True)
class Unconvertible:
    """A Keras layer a format cannot convert: declared by the format, found in a model by
    walking its layers (`Format.blockers`), so zoo refuses the pair right after the model
    is built, before any training, instead of failing afterwards in the converter or in
    the fresh-process check of what it wrote.

    `layer` is a Keras layer class name, matched against each layer's class and its bases
    (a subclass counts; "Layer" matches every layer); `when`, if given, narrows it to
    layers whose settings decide it (a predicate on the layer, e.g. its activation).
    `op` is what the converter meets and cannot express, `why` says so in a sentence,
    `instead` is the way round it besides dropping the format. `variants` limits it to
    some of the format's variants (None: every one).

    Layers, not traced ops, because layers are what a builder's author and a recipe's
    reader see and choose, and reading them costs nothing; the price is that an op hidden
    inside a custom layer's `call` is not seen (the converter still fails on it, later).
    Declared from what the converters really do: the slow test over every builder and
    format (tests/test_export_matrix.py) proves that each declaration fires only where the
    conversion really fails, and that every other pair exports and passes its check."""

    layer: str
    op: str
    why: str
    instead: str = ""
    variants: tuple[str | None, ...] | None = None
    when: Callable[[Any], bool] | None = None

    def matches(self, layer: Any, variant: str | None) -> bool:
        if self.variants is not None and variant not in self.variants:
            return False
        if self.layer not in {cls.__name__ for cls in type(layer).__mro__}:
            return False
        return self.when is None or bool(self.when(layer))


@dataclass(frozen=True)
class Blocker:
    """One `Unconvertible` found in a model: the rule, and the names and classes of the
    layers it met (in model order)."""

    rule: Unconvertible
    layers: tuple[str, ...]
    classes: tuple[str, ...] = ()

    def describe(self) -> str:
        """`layers pool_0, pool_1 (MaxPooling3D) need tf.MaxPool3D: <why>`."""
        names = list(self.layers[:4])
        if len(self.layers) > 4:
            names.append(f"{len(self.layers) - 4} more")
        one = len(self.layers) == 1
        classes = ", ".join(dict.fromkeys(self.classes))
        return (
            f"layer{'' if one else 's'} {', '.join(names)}"
            + (f" ({classes})" if classes else "")
            + f" need{'s' if one else ''} {self.rule.op}: {self.rule.why}"
        )


def antialiased_resize(lacks: str) -> Unconvertible:
    """zoo's clip preprocessing with `data.video.resize` (VideoPreprocess with `resize`)
    resizes frames with antialiasing, which TensorFlow runs as ScaleAndTranslate; neither
    LiteRT nor ONNX has that op (`lacks` says so for one format). Without `resize` the
    layer only samples frames and casts, which both convert."""
    return Unconvertible(
        "VideoPreprocess",
        "tf.ScaleAndTranslate",
        f"data.video.resize resizes frames with antialiasing, and {lacks}",
        "drop data.video.resize (give clips at the size the model takes), or export saved_model",
        when=lambda layer: bool(getattr(layer, "resize", None)),
    )


def walk(roots: Iterable[Any]) -> Iterator[Any]:
    """Every layer of `roots` (models or layers; None is skipped), nested ones included
    (sub-models, wrapped layers such as Bidirectional's), each once, in model order."""
    seen: set[int] = set()

    def visit(layer: Any) -> Iterator[Any]:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        yield layer
        for sub in layer._flatten_layers(include_self=False, recursive=False):
            yield from visit(sub)

    for root in roots:
        if root is not None:
            yield from visit(root)


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
    title: ClassVar[str] = ""  # How messages name it ("LiteRT"); default `name`.
    # What this format cannot convert, checked against a built model before training.
    unconvertible: ClassVar[tuple[Unconvertible, ...]] = ()

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

    def blockers(self, roots: Iterable[Any], variant: str | None = None) -> list[Blocker]:
        """What in `roots` (the model, and the data's preprocessor in front of it) this
        format's `variant` cannot convert, one `Blocker` per rule that fires; empty when
        the conversion can be tried. Reads layer classes and settings only: no tracing,
        no conversion, so it runs in milliseconds right after the model is built."""
        found: dict[Unconvertible, list[Any]] = {}
        for layer in walk(roots):
            for rule in self.unconvertible:
                if rule.matches(layer, variant):
                    found.setdefault(rule, []).append(layer)
        return [
            Blocker(rule, tuple(x.name for x in met), tuple(type(x).__name__ for x in met))
            for rule, met in found.items()
        ]

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

    def write_variants(
        self, model: keras.Model, targets: Sequence[tuple[str | None, Path]], ctx: Context
    ) -> dict[str | None, Path | Exception]:
        """Write several variants of this format, each `(variant, path)` of `targets` as
        `write` would: {variant: its path, or the ZooError or OSError that stopped it}.

        One call for all of a model's variants, so a format whose variants share costly
        work does it once (LiteRT: one SavedModel and one child process for every
        quantisation). One variant's failure is its own entry, not an exception, so the
        others are still written and each error is told about its own variant (the
        pipeline raises it under that artifact's guard). By default: `write`, in turn."""
        outcomes: dict[str | None, Path | Exception] = {}
        for variant, path in targets:
            try:
                outcomes[variant] = self.write(model, path, ctx, variant)
            except (ZooError, OSError) as exc:
                outcomes[variant] = exc
        return outcomes

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


def written(outcome: Path | Exception) -> Path:
    """One `Format.write_variants` outcome as `write` gives it: the path, or its error
    raised."""
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
