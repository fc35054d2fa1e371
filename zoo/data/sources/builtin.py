"""The built-in sources' loaders and readiness checks (their configs: zoo/config/schema.py).

Kept apart from the source modules so that naming a source never imports the others'
dependencies until it is used: each entry imports its module when called.
"""

from __future__ import annotations

from typing import Any

from zoo.data.sources.registry import register_loader


def _tfds_load(config: Any, **kw: Any) -> Any:
    from zoo.data.sources import tfds

    return tfds.load(config, **kw)


def _tfds_ready(config: Any) -> str:
    from zoo.data.sources import tfds

    return tfds.ensure_ready(config)


def _directory_load(config: Any, **kw: Any) -> Any:
    from zoo.data.sources import directory

    return directory.load(config, **kw)


def _csv_load(config: Any, **kw: Any) -> Any:
    from zoo.data.sources import csv

    return csv.load(config, **kw)


def _npz_load(config: Any, **kw: Any) -> Any:
    from zoo.data.sources import npz

    return npz.load(config, **kw)


def _npz_ready(config: Any) -> str:
    from zoo.data.sources import npz

    return npz.ensure_ready(config)


def _archive_ready(config: Any) -> str:
    from zoo.data import archive

    return archive.ensure_ready(config)


register_loader("tfds", _tfds_load, _tfds_ready)
register_loader("directory", _directory_load, _archive_ready)
register_loader("csv", _csv_load, _archive_ready)
register_loader("npz", _npz_load, _npz_ready)
