"""Errors met mid-run inside tf.data, turned into one ZooError (exit 2) where they can be.

The data check (zoo.data.check) refuses bad input before training, but some is only met
while `fit` or an evaluation pass reads the pipelines: a full disk while the disk cache is
written, an image the check's time budget left undecoded, a file truncated after loading.
tf.data then raises an `OpError` whose text names an op, not the file. `explained` wraps
such a pass and asks, in order:

1. is it a full disk (ENOSPC, EDQUOT, or EFBIG from a file-size limit)? Then one
   DataError naming the disk cache folder being written (the partial cache is never
   marked complete, so no later run trusts it), else the folder the run writes to;
2. the bundle's own `explain` hook (`DataBundle.explain`): the source names the file,
   row or member it can account for;
3. anything else is re-raised unchanged: an error zoo cannot explain is a bug and keeps
   its traceback.

The caller's ZooError propagates like any other, so a run folder ends `failed` with it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.data import cache as data_cache
from zoo.errors import DataError, ZooError

if TYPE_CHECKING:
    from zoo.data.bundle import DataBundle

log = logging.getLogger("zoo")

# errno values meaning "the disk took no more bytes": full, over quota, over a size limit.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def error_text(exc: BaseException) -> str:
    """An error's whole text (an OpError's `message`, else its str)."""
    return str(getattr(exc, "message", None) or exc)


def message(exc: BaseException) -> str:
    """An OpError's own words: its first line, without the `{{function_node ...}}` tag."""
    text = error_text(exc)
    text = re.sub(r"\{\{[^}]*\}\}|\[Op:[^]]*\]( name:\s*\S*)?", "", text).strip()
    return (text.splitlines() or [""])[0].strip()[:300]


def disk_full_reason(text: str) -> str | None:
    """The system's words for a full disk found in an error text (TensorFlow reports a
    failed write as `<file>; <strerror>`), else None."""
    for code in DISK_FULL:
        reason = os.strerror(code)
        if reason in text:
            return reason
    return None


def _cache_folder(text: str, config: Any) -> Path | None:
    """The disk cache folder (`<root>/<key>/<role>`) a message names a file in, if any."""
    if config is None:
        return None
    root = str(data_cache.cache_root(config))
    found = re.search(re.escape(root.rstrip("/")) + r"/([^/\s;]+)/([^/\s;]+)/", text)
    return Path(root, found.group(1), found.group(2)) if found else None


def disk_full_error(
    text: str, config: Any, writes_to: Path | None, during: str
) -> DataError | None:
    """The DataError for a full disk named in `text`, else None."""
    reason = disk_full_reason(text)
    if reason is None:
        return None
    folder = _cache_folder(text, config)
    if folder is not None:
        return DataError(
            f"data.cache: the disk cache {folder} could not be written ({reason}: the disk is "
            f"full, or a quota or file-size limit is reached) while {during} filled it; the "
            "partial cache is discarded, never marked complete. Free space there, set "
            "data.cache_dir (or ZOO_CACHE_DIR) to a folder on a larger disk, or set "
            "data.cache: none (or memory)."
        )
    where = f"writing to {writes_to}" if writes_to is not None else "writing its files"
    return DataError(
        f"The disk is full ({reason}; or a quota or file-size limit is reached): {during} "
        f"stopped while {where}. Free space on that disk, or write to a folder on another one "
        "(e.g. --output-dir)."
    )


def translate(
    exc: BaseException,
    bundle: DataBundle,
    config: Any = None,
    writes_to: Path | None = None,
    during: str = "training",
) -> ZooError | None:
    """The ZooError explaining `exc` raised while `bundle`'s pipelines ran, else None."""
    full = disk_full_error(error_text(exc), config, writes_to, during)
    if full is not None:
        return full
    explain = getattr(bundle, "explain", None)
    if explain is None:
        return None
    try:
        return explain(exc)
    except Exception:  # A broken explanation must not hide the original error.
        log.warning("could not explain the data error", exc_info=True)
        return None


@contextlib.contextmanager
def explained(
    bundle: DataBundle, config: Any = None, writes_to: Path | None = None, during: str = "training"
) -> Iterator[None]:
    """Run a pass over `bundle`'s pipelines (fit, an evaluation); an error from tf.data (or
    a full disk) that `translate` explains becomes that ZooError, anything else goes on."""
    import tensorflow as tf

    try:
        yield
    except tf.errors.OpError as exc:
        error = translate(exc, bundle, config, writes_to, during)
        if error is None:
            raise
        raise error from None
    except OSError as exc:  # A callback's write (a checkpoint) on a full disk.
        if exc.errno not in DISK_FULL:
            raise
        text = f"{exc.filename or ''}/; {os.strerror(exc.errno)}"
        raise disk_full_error(text, config, writes_to, during) or exc from None


class Recorder:
    """Keeps the ZooErrors a source's own Python code raises inside tf.data (a generator
    feeding `from_generator`): tf.data passes on only their text, wrapped in an OpError,
    so the source's `explain` hook (`Recorder.explain`) hands back the error itself."""

    def __init__(self) -> None:
        self.errors: list[ZooError] = []

    def fail(self, error: ZooError) -> None:
        """Record `error` and raise it (it stops the pipeline)."""
        self.errors.append(error)
        raise error

    def explain(self, exc: BaseException) -> ZooError | None:
        return self.errors[0] if self.errors else None
