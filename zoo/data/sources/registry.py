"""Data sources by name: each source module registers its loader and readiness check.

A source is one module. It registers its config class and what that config tells (zoo
/config/sources.py) and, here, `load(section, batch_size=, seed=) -> DataBundle` and
`ready(section) -> str` (what `zoo prepare` runs: make the files ready to read without
building pipelines, or raise DataError saying what is missing). `register_source` does
both in one call, which is all a plug-in outside zoo needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.config.sources import SourceConfig, register_source_config, source_config
from zoo.errors import DataError

if TYPE_CHECKING:
    from zoo.data.bundle import DataBundle

Load = Callable[..., "DataBundle"]


@dataclass(frozen=True)
class DataSource:
    name: str
    load: Load
    ready: Callable[[Any], str]


_LOADERS: dict[str, DataSource] = {}


def register_loader(name: str, load: Load, ready: Callable[[Any], str]) -> DataSource:
    """The loader and readiness check of the source `name` (its config registered)."""
    source = DataSource(name, load, ready)
    _LOADERS[name] = source
    return source


def register_source(
    name: str,
    *,
    config: type[Any],
    load: Load,
    ready: Callable[[Any], str] | None = None,
    input_kind: str | Callable[[Any], str] = "any",
    description: str = "",
    where: Callable[[Any], str] | None = None,
    reads_clips: bool = False,
) -> DataSource:
    """Register a whole data source: its config class (a subclass of
    `zoo.config.schema.DataCommon` with `source: Literal[name]`), its loader and how it
    is made ready. `input_kind` is one of zoo.config.sources.INPUT_KINDS, or a function
    of the section; `where` labels what a section reads (default `name`)."""
    kind = input_kind if callable(input_kind) else (lambda _data, k=input_kind: k)
    register_source_config(
        SourceConfig(
            name,
            config,
            description or (config.__doc__ or name).strip().splitlines()[0],
            input_kind=kind,
            where=where or (lambda _data: name),
            reads_clips=reads_clips,
        )
    )
    return register_loader(name, load, ready or (lambda _section: "nothing to prepare"))


def get(name: str) -> DataSource:
    """The registered source `name` (built-ins are imported on first use)."""
    import zoo.data.sources.builtin  # noqa: F401  (registers the built-in sources)

    if name not in _LOADERS:
        source_config(name)  # Loads entry-point plug-ins; KeyError names the closest.
    try:
        return _LOADERS[name]
    except KeyError:
        raise DataError(
            f"data.source {name!r} has a config but no loader; register it with "
            "zoo.register_source(...)."
        ) from None
