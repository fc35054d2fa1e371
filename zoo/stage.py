"""What the process is doing now, in a few words, for "interrupted (SIGTERM) while ...".

A plain module-level value with no imports, so any layer (data, training, export) may
name its stage without importing the CLI.
"""

from __future__ import annotations

_current = "starting"


def set_stage(stage: str) -> None:
    """Name what the process does from now on, e.g. "waiting for the cluster's workers"."""
    global _current
    _current = stage


def current() -> str:
    return _current
