"""One entry point over every data source a recipe can name (`data.source`)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.config.sources import source_config, source_names
from zoo.data import cache as data_cache
from zoo.data.bundle import DataBundle
from zoo.data.check import check_bundle
from zoo.data.preprocessing import image as preprocess_image
from zoo.data.preprocessing import text as preprocess_text
from zoo.data.sources import registry as sources
from zoo.errors import DataError

if TYPE_CHECKING:
    from zoo.config.schema import DataSection

log = logging.getLogger("zoo")


# Data sections (with their data version) whose check passed in this process: a search's
# trials read the same data again and again, and the check proves nothing new the second
# time. A changed section, seed or data version (file sizes and mtimes) is checked anew.
_CHECKED: set[tuple[str, int]] = set()


def _checked_key(config: DataSection, seed: int, version: object) -> str:
    return data_cache.data_key(config, seed, version)


def ensure_ready(config: DataSection) -> str:
    """Prepare what a recipe's `data` section reads, once (tools/prepare_data.py)."""
    return sources.get(config.source).ready(config)


def load(
    config: DataSection, *, batch_size: int, seed: int, vocabulary: Path | None = None
) -> DataBundle:
    """Build the train/validation/test pipelines described by a recipe's `data` section.

    Preprocessing options apply the same way to every source: `data.image` adds resizing,
    rescaling and training-only augmentation; text inputs (raw strings) are vectorised
    with `data.text`, or with its defaults when the recipe leaves it out, since no model
    eats raw strings. The data check (`zoo.data.check`) runs first, on the source's
    splits, unless `data.check` is false; it logs one line per split. `vocabulary` (a
    run's saved `vocabulary.txt`) rebuilds the text vectoriser without adapting.
    """
    if config.video is not None and not source_config(config.source).reads_clips:
        clips = [n for n in source_names() if source_config(n).reads_clips]
        raise DataError(
            f"data.video is set, but the {config.source!r} source reads no clips; clips come "
            f"from {' or '.join(clips)} sources. Remove data.video or change data.source."
        )
    start = time.perf_counter()
    bundle = sources.get(config.source).load(config, batch_size=batch_size, seed=seed)
    checked = (_checked_key(config, seed, bundle.version), batch_size)
    if checked in _CHECKED:  # The same data, already checked in this process (search trials).
        log.info("data check: passed earlier in this process for the same data section")
    else:
        report = check_bundle(bundle, config)
        report.seconds = time.perf_counter() - start  # Sources scan while reading: count all.
        for line in report.lines():
            log.info("%s", line)
        if not report.skipped:
            _CHECKED.add(checked)
    if config.image is not None:
        bundle = preprocess_image.apply(config.image, bundle, seed=seed)
    text = config.text
    if text is None and bundle.info.input_dtype == "string" and bundle.preprocessor is None:
        from zoo.config.schema import TextOptions

        text = TextOptions()
    if text is not None:
        cache_file = None
        if bundle.version is not None:  # Learnt once per data version and options.
            import keras  # Its TextVectorization learns the vocabulary: part of the key.

            learner = [preprocess_text.VOCABULARY_FORMAT, keras.__version__]
            key = data_cache.data_key(config, seed, [bundle.version, text.model_dump(), learner])
            cache_file = data_cache.cache_root(config) / "vocabularies" / f"{key}.txt"
        bundle = preprocess_text.apply(
            text, bundle, seed=seed, vocabulary=vocabulary, cache_file=cache_file
        )
    return bundle
