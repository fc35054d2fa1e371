"""Every environment variable zoo reads for its folders, each with one meaning, read here.

Why one module: the cache root was computed four ways (ZOO_CACHE_DIR meant the tf.data
cache folder in one place and zoo's cache root in another, and archive extraction
ignored it). Now:

- `ZOO_CACHE_DIR`: zoo's cache root, holding `tfdata/` (disk caches of pipelines),
  `presets/` (hub downloads), `extracted/` (data archives) and learnt vocabularies.
  Default `$XDG_CACHE_HOME/zoo`, else `~/.cache/zoo`.
- `ZOO_DATA_DIR`: the data root of `zoo-data://` paths in recipes; default
  `<cache root>/data`.
- `ZOO_TFDS_MANUAL_DIR`: original files TFDS prepares a dataset from, offline.
- `TFDS_DATA_DIR`: TensorFlow Datasets' own folder; archives are extracted beside it.
- `ZOO_MLFLOW_URI`, `ZOO_MLFLOW_PARENT_RUN`: set by `zoo search` for its trial processes
  (zoo/training/tracking.py): the study's MLflow store and the parent run each trial's
  run is nested under.

Bottom layer: imports nothing of zoo. Functions, not constants, so a changed environment
(tests, a notebook) is seen at once.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR = "ZOO_CACHE_DIR"
DATA_DIR = "ZOO_DATA_DIR"
TFDS_MANUAL_DIR = "ZOO_TFDS_MANUAL_DIR"
TFDS_DATA_DIR = "TFDS_DATA_DIR"
MLFLOW_URI = "ZOO_MLFLOW_URI"
MLFLOW_PARENT_RUN = "ZOO_MLFLOW_PARENT_RUN"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def cache_root() -> Path:
    """ZOO_CACHE_DIR, else `$XDG_CACHE_HOME/zoo`, else `~/.cache/zoo`."""
    explicit = _env_path(CACHE_DIR)
    if explicit is not None:
        return explicit
    xdg = _env_path("XDG_CACHE_HOME")
    return (xdg if xdg is not None else Path.home() / ".cache") / "zoo"


def data_root() -> Path:
    """ZOO_DATA_DIR (resolved), else `<cache root>/data`."""
    explicit = _env_path(DATA_DIR)
    return explicit.resolve() if explicit is not None else cache_root() / "data"


def tfdata_cache_root() -> Path:
    """Where disk caches of tf.data pipelines go unless a recipe names `data.cache_dir`."""
    return cache_root() / "tfdata"


def presets_cache_root() -> Path:
    """Where hub presets are downloaded to, one folder per manifest hash."""
    return cache_root() / "presets"


def extracted_root() -> Path:
    """Where data archives are extracted once: beside TFDS's data when TFDS_DATA_DIR is
    set (so `zoo prepare --data-dir` and the trainer agree), else `<cache root>/extracted`."""
    tfds_dir = _env_path(TFDS_DATA_DIR)
    return tfds_dir / "extracted" if tfds_dir is not None else cache_root() / "extracted"


def tfds_manual_dir() -> Path | None:
    """ZOO_TFDS_MANUAL_DIR: a folder of the original files TFDS prepares from, or None."""
    return _env_path(TFDS_MANUAL_DIR)
