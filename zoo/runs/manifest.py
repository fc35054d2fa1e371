"""The run-folder manifest `.zoo-run.json`: the record of every entry zoo wrote.

An entry is registered *before* it is written, so a kill mid-write still leaves it
listed. A folder is zoo's only if it has a manifest; a file the manifest does not list
is the user's, and zoo never deletes or replaces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.fs import atomic_write_json
from zoo.runs.layout import HISTORY, LOCK, MANIFEST, RECIPE

_CONTROL = (MANIFEST, LOCK)  # zoo's bookkeeping: never "foreign", never a run's entry.
_SHOWN = 3  # Foreign files named in a refusal.
_DAMAGED = (
    "zoo's record of the files it wrote there is damaged, so zoo cannot tell its files "
    "from yours and touches none of them; choose another folder"
)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when zoo did not make the folder (no manifest). A
    manifest that is damaged or forged (not JSON, wrong shape, huge, deeply nested) is a
    ZooError naming it: zoo then neither trusts nor replaces anything in the folder."""
    from zoo.runs.records import RunManifest, parse

    path = folder / MANIFEST
    if not path.exists() and not path.is_symlink():
        return None
    record = parse(path, RunManifest, fix=_DAMAGED)
    return record.model_dump()


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


def refuse_foreign(
    folder: Path,
    foreign: list[str],
    manifest: dict[str, Any] | None = None,
    *,
    fix: str = "choose a new or empty folder for --output-dir",
) -> None:
    """One ZooError naming (up to three of) the files in `folder` zoo did not write;
    `fix` says what to do instead, in the words of the command that refused."""
    shown = ", ".join(foreign[:_SHOWN]) + (
        f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
    )
    if manifest is None and (folder / RECIPE).is_file() and (folder / HISTORY).exists():
        hint = (
            " It looks like a run of an older zoo, which kept no record (.zoo-run.json) of "
            "the files it wrote, so zoo cannot tell them from yours."
        )
    else:
        hint = ""
    raise ZooError(
        f"{folder} holds files zoo did not write: {shown}.{hint} zoo never deletes or "
        f"replaces files it did not write, with or without --overwrite; {fix}."
    )


def check_foreign(
    folder: Path, *, fix: str = "choose a new or empty folder for --output-dir"
) -> dict[str, Any] | None:
    """The manifest of `folder`; refuses (ZooError) when it holds files zoo did not write."""
    manifest = read_manifest(folder)
    foreign = foreign_files(folder, manifest)
    if foreign:
        refuse_foreign(folder, foreign, manifest, fix=fix)
    return manifest


def claim(folder: Path, kind: str, *, fix: str) -> dict[str, Any] | None:
    """Check that zoo may write `kind` files into `folder` (a study, an evaluation...):
    it is new, empty, or zoo's folder of the same kind holding nothing else. Refuses
    (ZooError) otherwise, naming the foreign files; writes nothing. Each file is then
    `register`ed before it is written, so only listed files are ever replaced."""
    if folder.exists() and not folder.is_dir():
        raise ZooError(f"{folder} is a file, not a folder; {fix}.")
    if not folder.is_dir():
        return None
    manifest = read_manifest(folder)
    if manifest is not None and manifest.get("kind", "run") != kind:
        raise ZooError(
            f"{folder} is a zoo {manifest.get('kind', 'run')} folder, not a {kind} folder; "
            f"zoo never mixes them; {fix}."
        )
    return check_foreign(folder, fix=fix)
