"""One entry point over every data source a recipe can name (`data.source`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.data import npz_source, tfds_source
from zoo.data.bundle import DataBundle

if TYPE_CHECKING:
    from zoo.schema import DataSection

_SOURCES = {
    "tfds": tfds_source.load,
    "npz": npz_source.load,
}


def load(config: DataSection, *, batch_size: int, seed: int) -> DataBundle:
    """Build the train/validation/test pipelines described by a recipe's `data` section."""
    return _SOURCES[config.source](config, batch_size=batch_size, seed=seed)
