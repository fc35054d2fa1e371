"""The run-folder manifest `.zoo-run.json`: the record of every entry zoo wrote.

An entry is registered *before* it is written, so a kill mid-write still leaves it
listed. A folder is zoo's only if it has a manifest; a file the manifest does not list
is the user's, and zoo never deletes or replaces it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.fs import atomic_write_json
from zoo.runs.layout import LOCK, MANIFEST, RECIPE

_CONTROL = (MANIFEST, LOCK)  # zoo's bookkeeping: never "foreign", never a run's entry.
_SHOWN = 3  # Foreign files named in a refusal.


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when zoo did not make the folder."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        return None
    return data


def is_our_temp(name: str, entries: set[str]) -> bool:
    """A temporary file of one of our entries left by a kill (`.metrics.json.tmp`,
    `.saved_model.tmp-x1y2`, `.model.tmp.keras`)."""
    if not (name.startswith(".") and ".tmp" in name):
        return False
    return any(name[1:].startswith(Path(e).stem + ".") for e in entries)


def foreign_files(folder: Path, manifest: dict[str, Any] | None) -> list[str]:
    """Top-level names in `folder` that zoo did not write (sorted)."""
    entries = set(manifest["entries"]) if manifest else set()
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return []
    return [
        n for n in names if n not in entries and n not in _CONTROL and not is_our_temp(n, entries)
    ]


def register(folder: Path, name: str, *, kind: str = "run") -> None:
    """Enter `name` in `folder`'s manifest (created when missing), atomically."""
    manifest = read_manifest(folder) or {"kind": kind, "entries": []}
    if name in manifest["entries"]:
        return
    manifest["entries"] = sorted({*manifest["entries"], name})
    atomic_write_json(folder / MANIFEST, manifest)


def _refuse_foreign(folder: Path, foreign: list[str], manifest: dict[str, Any] | None) -> None:
    shown = ", ".join(foreign[:_SHOWN]) + (
        f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
    )
    if manifest is None and (folder / RECIPE).is_file() and (folder / "history.csv").exists():
        hint = (
            " It looks like a run of an older zoo, which kept no record (.zoo-run.json) of "
            "the files it wrote, so zoo cannot tell them from yours."
        )
    else:
        hint = ""
    raise ZooError(
        f"{folder} holds files zoo did not write: {shown}.{hint} zoo never deletes or "
        "replaces files it did not write, with or without --overwrite; choose a new or "
        "empty folder for --output-dir."
    )


def check_foreign(folder: Path) -> dict[str, Any] | None:
    """The manifest of `folder`; refuses (ZooError) when it holds files zoo did not write."""
    manifest = read_manifest(folder)
    foreign = foreign_files(folder, manifest)
    if foreign:
        _refuse_foreign(folder, foreign, manifest)
    return manifest
