"""The data sources a recipe's `data.source` may name, and what each says about itself.

Why a registry: adding a source used to mean editing about nine places (the schema's
union, three dispatch tables in the loader, `isinstance` chains in the rules, the card,
`zoo list`, `zoo prepare`). Now a source is one module: it registers its config class
here, with the facts the config layer needs before any data is read (what kind of input
it gives, where a recipe's section reads from, whether it reads clips), and its loader
and readiness check in `zoo.data.sources.registry`. The recipe schema's `data` field is
the discriminated union of every registered config class, rebuilt on registration, so a
plug-in's fields are validated (and its errors named) like the built-ins'.

A plug-in outside zoo calls `zoo.register_source(...)` when imported; the CLI imports
the modules named by the `zoo.data_sources` entry-point group when a recipe names a
source that is not registered yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Discriminator, Tag

from zoo.errors import did_you_mean

# What a source's examples are, for the rules (e.g. data.text needs text inputs).
INPUT_KINDS = ("image", "text", "features", "pixels", "clips", "any")
ENTRY_POINT_GROUP = "zoo.data_sources"


@dataclass(frozen=True)
class SourceConfig:
    """A source's config class and what its config alone tells.

    `input_kind(section)` is one of INPUT_KINDS ("any": unknown until read, e.g. TFDS);
    `where(section)` is a short label of what it reads (`tfds:mnist`, `npz:<path>`);
    `reads_clips` says whether `data.video` options apply."""

    name: str
    config: type[Any]
    description: str
    input_kind: Callable[[Any], str]
    where: Callable[[Any], str]
    reads_clips: bool = False


_SOURCES: dict[str, SourceConfig] = {}
_rebuild: list[Callable[[], None]] = []  # The schema's hook: rebuild Recipe's `data` field.


def register_source_config(entry: SourceConfig) -> SourceConfig:
    """Add a source (or replace it with the same config class); the recipe schema sees it
    at once."""
    known = _SOURCES.get(entry.name)
    if known is not None and known.config is not entry.config:
        raise ValueError(f"A data source named {entry.name!r} is already registered.")
    _SOURCES[entry.name] = entry
    for rebuild in _rebuild:
        rebuild()
    return entry


def on_change(rebuild: Callable[[], None]) -> None:
    """Call `rebuild` whenever the set of sources changes (the schema registers this)."""
    _rebuild.append(rebuild)


def source_names() -> list[str]:
    return sorted(_SOURCES)


def source_config(name: str) -> SourceConfig:
    """The registered source `name`; plug-ins named by entry points are loaded first."""
    if name not in _SOURCES:
        load_plugins()
    try:
        return _SOURCES[name]
    except KeyError:
        raise KeyError(
            f"data.source {name!r} is not a registered source." + did_you_mean(name, _SOURCES)
        ) from None


def of(section: Any) -> SourceConfig:
    return source_config(section.source)


def load_plugins() -> None:
    """Import the modules of the `zoo.data_sources` entry points (each registers itself)."""
    import importlib
    from importlib import metadata

    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in _SOURCES:
            importlib.import_module(entry.value.split(":")[0])


def _source(value: Any) -> Any:
    """`data.source`; `tfds` when left out (recipes written before other sources existed).
    A name no source has registered yet may belong to an installed plug-in."""
    name = (
        value.get("source", "tfds") if isinstance(value, dict) else getattr(value, "source", None)
    )
    if isinstance(name, str) and name not in _SOURCES:
        load_plugins()
    return name


def data_union() -> Any:
    """The `data` field's type: a union of every registered config class, tagged by name."""
    members = [Annotated[entry.config, Tag(name)] for name, entry in sorted(_SOURCES.items())]
    union = members[0]
    for member in members[1:]:
        union = union | member
    return Annotated[union, Discriminator(_source)]
