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

# The fix for each failed write; `{other}` is what the command lets the user choose
# instead (its flag when it has one: "another --output-dir"; else "another folder"), so no
# message ever advises a flag the command does not have.
_WRITE_FIXES = {
    errno.EACCES: "the folder is not writable by this user; choose {other} you can write to",
    errno.EPERM: "the folder is not writable by this user; choose {other} you can write to",
    errno.EROFS: "the file system is read-only; choose {other} on a writable disk",
    errno.ENOSPC: "the disk is full; free space or choose {other} on another disk",
    errno.EDQUOT: "the disk quota is exhausted; free space or choose {other}",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose {other}",
    errno.EEXIST: "a file is in the way; choose {other}",
    errno.ENAMETOOLONG: "the path is too long; choose {other} with a shorter path",
    errno.EILSEQ: "the path holds bytes this file system cannot store; choose {other}",
}
OTHER_FOLDER = "another folder"
OTHER_OUTPUT_DIR = "another --output-dir"  # For the commands that have that flag.


def write_error(path: Path, exc: OSError, other: str = OTHER_FOLDER) -> ZooError:
    """One message for a failed write: the path, what the system said, and the fix.
    `other` names what the user may choose instead, in the command's own terms."""
    fix = _WRITE_FIXES.get(exc.errno or 0, "check the folder and choose {other}")
    reason = exc.strerror or type(exc).__name__
    return ZooError(f"Cannot write {shown(path)}: {reason}; {fix.format(other=other)}.")


def shown(path: Path | str) -> str:
    """`path` printable in a message even when it holds bytes that are not UTF-8 (from
    the command line): those bytes are shown as \\xNN."""
    import os

    text = str(path)
    if utf8(text):
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_utf8_path(path: Path | str, what: str) -> None:
    """Refuse, before any work, a path whose bytes are not UTF-8: zoo records its paths in
    UTF-8 files (recipe.yaml, model_card.md, manifests), which could not hold it."""
    if not utf8(str(path)):
        raise ZooError(
            f"{what} {shown(path)} holds bytes that are not UTF-8; zoo writes its paths into "
            "its records (UTF-8 text), so give a name in UTF-8."
        )


@contextlib.contextmanager
def writing(path: Path, other: str = OTHER_FOLDER) -> Iterator[None]:
    """Turn an OSError (or a path the file system cannot encode) raised while writing
    `path` into one ZooError."""
    try:
        yield
    except OSError as exc:
        raise write_error(path, exc, other) from None
    except UnicodeEncodeError:
        raise write_error(path, OSError(errno.EILSEQ, "not a valid file name"), other) from None


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


MAX_JSON_BYTES = 64 << 20  # zoo's own records; a metrics.json of 1,000 classes is ~10 MiB.
MAX_JSON_DEPTH = 32  # zoo writes at most ~6 levels.


def read_json(
    path: Path, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """A JSON file zoo wrote, read with bounds: a regular file of at most `max_bytes`,
    UTF-8, nested at most `max_depth` deep. Anything else (missing, a FIFO, huge, 100,000
    levels deep, not JSON) is one ZooError naming the file, never a hang or a traceback.
    The caller checks the shape (zoo/runs/records.py, zoo/presets/format.py)."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError as exc:
        raise ZooError(f"{path} cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(info.st_mode):
        raise ZooError(f"{path} is not a regular file; zoo reads only the file it wrote there.")
    if info.st_size > max_bytes:
        raise ZooError(
            f"{path} is {info.st_size:,} bytes, over the {max_bytes:,} bytes zoo ever writes "
            "there; the file is damaged or not zoo's."
        )
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
        text = raw.decode("utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise ZooError(f"{path} cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError as exc:
        raise ZooError(f"{path} is not UTF-8 (byte {exc.start}); it is damaged.") from None
    except RecursionError:
        raise ZooError(
            f"{path} is nested too deeply (over {max_depth} levels); it is damaged."
        ) from None
    except ValueError as exc:
        raise ZooError(f"{path} is not readable JSON ({exc}); it is damaged.") from None
    if _depth_over(data, max_depth):
        raise ZooError(f"{path} is nested too deeply (over {max_depth} levels); it is damaged.")
    return data


def _depth_over(data: Any, limit: int) -> bool:
    """True when `data` nests lists/dicts more than `limit` deep (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False
