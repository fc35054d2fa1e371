"""How far a run got (`status.json`), and which folders hold runs in which state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from zoo.runs.layout import METRICS, RECIPE, STATUS
from zoo.runs.manifest import read_manifest

STAGES = ("training", "fitted", "evaluated", "exported", "finished", "failed", "pruned")


class RunStopped(Exception):
    """Raised (e.g. by a search's pruning callback) to end a run on purpose: the run
    folder is marked with `stage` (default "pruned") and `reason`, neither finished nor
    failed, and the exception goes on to the caller."""

    def __init__(self, reason: str, stage: str = "pruned"):
        super().__init__(reason)
        self.reason = reason
        self.stage = stage


def read_status(folder: Path) -> dict[str, Any]:
    """The run's status.json, {} when it has none; a damaged one is a ZooError naming it."""
    from zoo.runs.records import Status, parse

    path = folder / STATUS
    if not path.exists() and not path.is_symlink():
        return {}
    return parse(path, Status, fix="Run the run's train command again.").model_dump()


def is_run(folder: Path) -> bool:
    manifest = read_manifest(folder)
    return manifest is not None and manifest.get("kind", "run") == "run"


def is_finished(folder: Path) -> bool:
    """A zoo run that wrote `metrics.json` (its last step)."""
    return is_run(folder) and (folder / METRICS).is_file()


def is_unfinished(folder: Path) -> bool:
    """A zoo run that never got as far as `metrics.json`: resumable."""
    return is_run(folder) and (folder / RECIPE).is_file() and not (folder / METRICS).exists()


def latest_unfinished(runs_dir: Path, recipe_name: str) -> Path | None:
    """The newest unfinished `runs_dir/<recipe_name>-<timestamp>[-n]`, if any."""
    pattern = re.compile(rf"^{re.escape(recipe_name)}-\d{{8}}-\d{{6}}(-\d+)?$")
    if not runs_dir.is_dir():
        return None
    candidates = [p for p in runs_dir.iterdir() if pattern.match(p.name) and _unfinished(p)]
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)


def _unfinished(folder: Path) -> bool:
    """`is_unfinished`, False for a folder whose manifest is damaged (never resumed)."""
    from zoo.errors import ZooError

    try:
        return is_unfinished(folder)
    except ZooError:
        return False
