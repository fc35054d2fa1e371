"""Temporary folders beside a destination that zoo can prove it made, and clean later.

Why: a folder is written under a temporary name and renamed into place, so a reader never
sees half of it; a kill between the two leaves the temporary behind. Without proof of who
made it, zoo must leave it forever (zoo never deletes a folder it did not create). So the
first thing written into each temporary is a marker, `.zoo-temporary` (pid, host), and the
next writer of the same destination deletes the temporaries whose marker names a process
of this host that is gone. A folder without the marker is never touched.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from pathlib import Path

from zoo.fs import temp_dir
from zoo.runs.lock import alive

log = logging.getLogger("zoo")

MARK = ".zoo-temporary"
_KINDS = ("zoo-tmp", "zoo-old")  # Being written; the previous version, moved aside.


def _prefix(dest: Path, kind: str) -> str:
    return f".{dest.name}.{kind}-"


def _mark(folder: Path) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname()}
    (folder / MARK).write_text(json.dumps(info) + "\n")


def make(dest: Path) -> Path:
    """A new marked temporary folder beside `dest` (`.NAME.zoo-tmp-<random>`)."""
    tmp = temp_dir(_prefix(dest, "zoo-tmp"), dest.parent)  # The umask's mode, not 0700.
    try:
        _mark(tmp)
    except BaseException:
        tmp.rmdir()
        raise
    return tmp


def move_aside(dest: Path) -> Path:
    """Rename the existing `dest` to a marked `.NAME.zoo-old-<pid>` beside it."""
    old = dest.with_name(f"{_prefix(dest, 'zoo-old')}{os.getpid()}")
    dest.rename(old)
    _mark(old)
    return old


def unmark(folder: Path) -> None:
    """Drop the marker once the folder is in place under its final name."""
    (folder / MARK).unlink(missing_ok=True)


def _stale(folder: Path) -> bool:
    """True only when the marker proves a process of this host made it and is gone."""
    try:
        info = json.loads((folder / MARK).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(info, dict) or info.get("host") != socket.gethostname():
        return False
    pid = info.get("pid")
    return isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and not alive(pid)


def sweep(dest: Path) -> list[Path]:
    """Delete the temporaries of `dest` left by killed zoo processes; returns them. Others
    (a live writer's, unmarked folders that merely look alike) are left alone."""
    removed = []
    try:
        siblings = list(dest.parent.iterdir())
    except OSError:
        return removed
    for path in siblings:
        name = path.name
        ours = any(name.startswith(_prefix(dest, kind)) for kind in _KINDS)
        if ours and path.is_dir() and not path.is_symlink() and _stale(path):
            shutil.rmtree(path, ignore_errors=True)
            log.info("removed %s, left by a killed zoo process", path)
            removed.append(path)
        elif name.startswith(f".{dest.name}.tmp-") and path.is_dir():
            log.warning(
                "%s looks like a temporary of an older zoo (killed while writing %s); zoo "
                "cannot prove it wrote it, so it stays: delete it yourself if it is not yours",
                path,
                dest.name,
            )
    return removed
