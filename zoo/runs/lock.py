"""`.zoo-lock`: one zoo process per folder, with a stale lock taken over."""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from datetime import datetime
from pathlib import Path

from zoo.errors import ZooError
from zoo.fs import write_error
from zoo.runs.layout import LOCK

log = logging.getLogger("zoo")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """`.zoo-lock` in a folder, created atomically; removed by `release`."""

    def __init__(self, folder: Path, *, instead: str = "choose another --output-dir"):
        self.path = folder / LOCK
        self.held = False
        self.instead = instead  # The alternative the refusal offers, in the command's terms.

    def acquire(self) -> None:
        for _ in range(2):  # The second try follows the takeover of a stale lock.
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._judge_existing()
                continue
            except OSError as exc:
                raise write_error(self.path, exc) from None
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": datetime.now().isoformat(timespec="seconds"),
                "argv": sys.argv,
            }
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(info) + "\n")
            self.held = True
            return
        raise ZooError(f"Could not take the lock {self.path}; another trainer just took it.")

    def _judge_existing(self) -> None:
        """Take over a stale lock (its process is gone); refuse a live one."""
        try:
            info = json.loads(self.path.read_text())
        except (OSError, ValueError):
            info = None
        if not isinstance(info, dict):
            try:  # Being written right now, or a wreck: judge by its age.
                age = time.time() - self.path.stat().st_mtime
            except OSError:
                return
            if age < 10:
                raise ZooError(
                    f"{self.path.parent} is locked by another zoo process ({self.path}); "
                    f"wait for it to finish or {self.instead}."
                )
            info = {}
        pid, host = info.get("pid"), info.get("host")
        command = " ".join(str(a) for a in info.get("argv", [])) or "unknown command"
        if isinstance(pid, int) and host == socket.gethostname() and not alive(pid):
            log.info("taking over the stale lock of process %d (no longer running)", pid)
        elif info:
            raise ZooError(
                f"{self.path.parent} is in use by another zoo process: pid {pid} on {host}, "
                f"started {info.get('started')}, running `{command}`. Wait for it to finish, "
                f"or {self.instead}. (If that process is gone, delete {self.path}.)"
            )
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
