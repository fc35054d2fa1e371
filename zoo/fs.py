"""Atomic writes and write errors: the one place zoo turns a file write into a rename.

Why: a reader (or a kill) must never see half a file, and an OSError (read-only folder,
full disk, a file where a folder should be) must reach the user as one message naming the
path and the fix, not a traceback. Every layer writes through these helpers.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

_WRITE_FIXES = {
    errno.EACCES: "the folder is not writable by this user; choose a writable --output-dir",
    errno.EPERM: "the folder is not writable by this user; choose a writable --output-dir",
    errno.EROFS: "the file system is read-only; choose an --output-dir on a writable disk",
    errno.ENOSPC: "the disk is full; free space or choose an --output-dir on another disk",
    errno.EDQUOT: "the disk quota is exhausted; free space or choose another --output-dir",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another --output-dir",
    errno.EEXIST: "a file is in the way; choose another --output-dir",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter --output-dir",
}


def write_error(path: Path, exc: OSError) -> ZooError:
    """One message for a failed write: the path, what the system said, and the fix."""
    fix = _WRITE_FIXES.get(exc.errno or 0, "check the folder and choose another --output-dir")
    reason = exc.strerror or type(exc).__name__
    return ZooError(f"Cannot write {path}: {reason}; {fix}.")


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an OSError raised while writing `path` into one ZooError."""
    try:
        yield
    except OSError as exc:
        raise write_error(path, exc) from None


def replace_atomically(path: Path, text: str) -> None:
    """Write `path` under a temporary name (this process's own) and rename it into place:
    a reader, a kill or a second writer never sees half a file. OSError is the caller's
    (a cache that cannot be written only costs time; see `atomic_write_text`)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """`replace_atomically`, an OSError becoming one ZooError naming the path and the fix."""
    with writing(path):
        replace_atomically(path, text)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def umask() -> int:
    """The process's file-creation mask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # Elsewhere: set and restore (a moment's race, only here).
    os.umask(old)
    return old


def temp_dir(prefix: str, parent: Path | None = None) -> Path:
    """A new temporary folder (tempfile.mkdtemp) with the mode an ordinary mkdir would
    give it.

    Why: mkdtemp makes folders 0700 whatever the umask. That is right for scratch space,
    wrong for a folder that is renamed into place as a result (a SavedModel, an ONNX
    folder, a preset, an extracted archive): others in the user's group could not read it."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o777 & ~umask())
    return path
