"""Where a split's decoded examples are cached: `data.cache: auto | memory | disk | none`.

`auto` keeps a split in memory when its estimated size is under `MEMORY_FRACTION` of the
RAM available now (read from /proc/meminfo, else `os.sysconf`), and otherwise caches it on
disk. An unknown size counts as small (shipped TFDS datasets).

The disk cache avoids the partial-cache trap of `tf.data` (`Dataset.cache(filename)`
writes its index only after a full pass, but a killed run leaves lock files and shards
that make the next run fail or, worse, a half-written cache a later reader trusts): each
split caches under its own folder `<cache root>/<key>/<role>/`, where the key hashes the
recipe's data section, the seed and the data version (file sizes and mtimes); a
`complete.json` marker holding that key is written only when the pipeline has read the
split to its end, i.e. after `tf.data` wrote the index. A folder without the marker, or
whose marker holds another key, is deleted and rebuilt, never trusted. Only the process
holding the folder's lock (`<key>/<role>.lock`, an flock the system releases when the
process dies) writes or deletes it; a second run of the same data meanwhile reads without
a cache rather than racing the first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from zoo import settings
from zoo.errors import DataError
from zoo.fs import replace_atomically

log = logging.getLogger("zoo")

# A split is cached in memory when it needs less than this share of the available RAM.
MEMORY_FRACTION = 0.125
MARKER = "complete.json"
# Free disk space wanted beyond the estimated cache size (tf.data's bundle overhead).
DISK_MARGIN = 1.25

# Cache folders this process holds the write lock of (path → open descriptor).
_held: dict[str, int] = {}
# Counters a test (or a benchmark) can read: which mode each split ended with.
decisions: list[tuple[str, str]] = []


def available_ram() -> int:
    """Bytes of RAM available now (MemAvailable), else physical pages × page size."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover  (non-POSIX)
        return 1 << 32


def cache_root(config: Any) -> Path:
    """`data.cache_dir`, else `tfdata/` under zoo's cache root (zoo/settings.py)."""
    chosen = getattr(config, "cache_dir", None)
    return Path(chosen).expanduser() if chosen else settings.tfdata_cache_root()


def normalise(mode: Any) -> str:
    """Old recipes' `cache: true/false` mean memory/none."""
    if mode is True:
        return "memory"
    if mode is False or mode is None:
        return "none"
    return str(mode)


def data_key(config: Any, seed: int, version: Any) -> str:
    """What makes a cached split valid: the data section (less fields that act after the
    cache), the seed (fraction splits) and the data version the source reports."""
    section = config.model_dump(mode="json", exclude={"cache", "cache_dir", "shuffle_buffer"})
    blob = json.dumps({"data": section, "seed": seed, "version": version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def choose(mode: Any, size_bytes: int | None, role: str) -> str:
    """The mode a split gets: `auto` resolved by its estimated size; the choice is logged."""
    mode = normalise(mode)
    if mode == "auto":
        ram = available_ram()
        small = size_bytes is None or size_bytes < MEMORY_FRACTION * ram
        mode = "memory" if small else "disk"
        size = "unknown size" if size_bytes is None else f"~{size_bytes / 2**20:,.0f} MiB"
        log.info(
            "data cache: %s split (%s) cached on %s (auto: memory below %.0f MiB, %.0f%% of "
            "the %.0f MiB RAM available)",
            role,
            size,
            mode,
            MEMORY_FRACTION * ram / 2**20,
            MEMORY_FRACTION * 100,
            ram / 2**20,
        )
    else:
        log.info("data cache: %s split: %s (data.cache)", role, mode)
    decisions.append((role, mode))
    return mode


class DiskCache:
    """One split's cache folder; `prefix` is the `Dataset.cache` filename to use."""

    def __init__(self, root: Path, key: str, role: str):
        self.folder = root / key / role
        self.key = key
        self.role = role
        self.prefix = str(self.folder / "examples")

    @property
    def marker(self) -> Path:
        return self.folder / MARKER

    def trusted(self) -> bool:
        """A cache completed by an earlier pass for this very key."""
        try:
            return json.loads(self.marker.read_text()).get("key") == self.key
        except (OSError, ValueError, AttributeError):
            return False

    def prepare(self, size_bytes: int | None) -> bool | None:
        """Ready the folder: True to read a complete cache, False to write a new one
        (anything left there, e.g. by a killed run, is removed first), None when another
        run is writing it now (this run then reads without a cache)."""
        if self.trusted():
            log.info(
                "data cache: %s split read from the complete disk cache %s", self.role, self.folder
            )
            return True
        if not self._claim():
            log.info(
                "data cache: %s split: another run is writing the disk cache %s now; this "
                "run reads without a cache",
                self.role,
                self.folder,
            )
            return None
        try:
            if self.folder.exists():
                log.info(
                    "data cache: %s: incomplete or foreign cache in %s; rebuilding it",
                    self.role,
                    self.folder,
                )
                shutil.rmtree(self.folder)
            self.folder.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.folder).free
        except OSError as exc:
            raise DataError(
                f"data.cache: cannot use the disk cache folder {self.folder} "
                f"({exc.strerror or exc}). Set data.cache_dir (or ZOO_CACHE_DIR) to a "
                "writable folder, or data.cache: memory / none."
            ) from None
        if size_bytes is not None and free < size_bytes * DISK_MARGIN:
            raise DataError(
                f"data.cache: the {self.role} split needs about {size_bytes / 2**20:,.0f} MiB "
                f"of disk cache, but {self.folder} has {free / 2**20:,.0f} MiB free. Free "
                "space, set data.cache_dir (or ZOO_CACHE_DIR) to a larger disk, or set "
                "data.cache: none."
            )
        log.info(
            "data cache: %s split written to %s during the first full pass", self.role, self.folder
        )
        return False

    def _claim(self) -> bool:
        """Hold `<key>/<role>.lock` (an flock, released when the process ends, however it
        ends) while this process may write the folder: two runs of the same data never
        write, or delete, one cache at once. False when another process holds it."""
        import fcntl

        lock = self.folder.with_name(f"{self.role}.lock")
        if str(lock) in _held:
            return True
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return True  # Unwritable: prepare() names the folder and the fix.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        _held[str(lock)] = fd
        return True

    def mark_complete(self) -> None:
        """Called once the pipeline read the split to its end (tf.data's index is written)."""
        if self.trusted():
            return
        if not any(self.folder.glob("examples*.index")):
            return  # tf.data discarded a partial pass: nothing to trust.
        try:
            replace_atomically(self.marker, json.dumps({"key": self.key, "role": self.role}))
        except OSError as exc:
            raise DataError(
                f"data.cache: cannot finish the disk cache in {self.folder} "
                f"({exc.strerror or exc}); is the disk full? Free space, set data.cache_dir "
                "(or ZOO_CACHE_DIR) elsewhere, or set data.cache: none."
            ) from None
        log.info("data cache: %s split cache complete in %s", self.role, self.folder)
