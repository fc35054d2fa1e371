"""Typed, bounded reading of the files zoo writes into a run folder: `.zoo-run.json`,
`status.json`, `metrics.json`, `builder.json`, `classes.json`.

Why: these files are read back by later commands (publish, evaluate, export, predict,
results, resume) and a folder may have been edited, damaged or forged. Each is read here
through `zoo.fs.read_json` (size, depth, UTF-8) and a pydantic model of its shape, so a list
where a mapping belongs, a string (or a boolean) where a score belongs, or 100,000 levels of
nesting is one ZooError naming the file and the field, never a traceback and never a
silently wrong value. The preset's own files are checked in zoo/presets/format.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from zoo.errors import ZooError
from zoo.fs import read_json

Score = StrictFloat | StrictInt  # Never a bool, never a string.
T = TypeVar("T", bound=BaseModel)


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class RunManifest(_Record):
    """`.zoo-run.json`: the folder's kind and every top-level entry zoo wrote."""

    kind: StrictStr = "run"
    entries: list[StrictStr]


class Status(_Record):
    """`status.json`: how far the run got."""

    stage: StrictStr
    reason: StrictStr | None = None


class ExportCheck(_Record):
    ok: StrictBool


class Metrics(_Record):
    """`metrics.json`: `{split: {metric: score}}`, plus `report` and `export`."""

    training: dict[StrictStr, Any] = Field(default_factory=dict)
    report: dict[StrictStr, dict[StrictStr, Any]] = Field(default_factory=dict)
    export: dict[StrictStr, ExportCheck] = Field(default_factory=dict)
    model: StrictStr | None = None  # `zoo evaluate`'s: the model it scored.
    preset: dict[StrictStr, Any] | None = None  # `zoo evaluate PRESET`'s comparison.
    __pydantic_extra__: dict[str, dict[StrictStr, Score | None]]  # The splits' scores.

    def scores(self, split: str) -> dict[str, float | int | None]:
        return dict((self.__pydantic_extra__ or {}).get(split) or {})


class Builder(_Record):
    """`builder.json` (a run) / the builder part of a preset's `config.json`."""

    name: StrictStr = Field(min_length=1, max_length=200)
    params: dict[StrictStr, Any] = Field(default_factory=dict)


class Classes(_Record):
    class_names: list[StrictStr | StrictInt] = Field(max_length=1_000_000)


def problem(exc: ValidationError) -> str:
    """The first problem of a validation error: `field: message (got value)`."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the top level"
    got = repr(first.get("input"))
    got = got if len(got) <= 60 else got[:60] + "..."
    return f"{where}: {first['msg']} (got {got})"


def parse(path: Path, model: type[T], *, fix: str = "") -> T:
    """`path` read (bounded) and checked against `model`; one ZooError naming both."""
    data = read_json(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        tail = f" {fix}" if fix else ""
        raise ZooError(f"{path} is not a valid zoo {path.name}: {problem(exc)}.{tail}") from None


def read_classes(path: Path) -> tuple[str, ...]:
    return tuple(str(n) for n in parse(path, Classes).class_names)


def read_metrics(path: Path) -> Metrics:
    return parse(path, Metrics, fix="Restore it from the run, or train the run again.")


def read_builder(path: Path) -> Builder:
    return parse(path, Builder, fix="Train the run again with this zoo, which writes it.")
