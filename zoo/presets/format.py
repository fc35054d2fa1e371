"""The preset format: one folder, every file listed with its sha256 in `manifest.json`.

Why a manifest: a preset travels (a folder copied around, a hub download) and is loaded
into other people's programs; the manifest lets a loader prove that every byte is the
one that was published, and names the file that is not. Its own sha256 is the preset's
identity: the download cache is keyed by it, and fine-tuned runs record it.

A preset folder holds:
- `manifest.json`   format version, zoo/Keras/TensorFlow versions, sha256 + size per file
- `config.json`     the builder name and its full parameters (data parameters included)
- `recipe.yaml`     the resolved recipe, with this machine's paths reduced to base names
- `model.weights.h5` the builder model's weights (Keras format)
- `model.keras`     the model taking raw input (preprocessing inside), loaded safe-mode on
- `classes.json`    class names (when the data has them); `vocabulary.txt` for text models
- `metrics.json`, `model_card.md`  the run's measured scores and card
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from zoo.errors import ZooError
from zoo.fs import read_json as bounded_json
from zoo.runs import layout
from zoo.runs.records import problem

FORMAT = "zoo-preset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIG = "config.json"
RECIPE = layout.RECIPE
WEIGHTS = "model.weights.h5"
MODEL = layout.MODEL
CLASSES = layout.CLASSES
VOCABULARY = layout.VOCABULARY
METRICS = layout.METRICS
CARD = layout.CARD
REQUIRED = (CONFIG, RECIPE, WEIGHTS, MODEL, METRICS)
TEXT_SUFFIXES = (".json", ".yaml", ".md", ".txt", ".csv")


class _Typed(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class FileEntry(_Typed):
    sha256: StrictStr = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: StrictInt = Field(ge=0)


class Manifest(_Typed):
    """manifest.json: what a loader checks before reading anything else."""

    format: StrictStr
    format_version: StrictInt
    files: dict[StrictStr, FileEntry]


class PresetConfig(_Typed):
    """config.json: the builder and its full parameters."""

    builder: StrictStr = Field(min_length=1, max_length=200)
    task: StrictStr | None = None
    params: dict[StrictStr, Any] = Field(default_factory=dict)


# An absolute path of this machine inside text: "/work/x/y" (not "zoo-data://a/b", not "a/b",
# not "https://host/p"). It is replaced by its last part.
_ABSOLUTE = re.compile(r"(?<![\w:/.~-])(?:~|/)(?:/?[\w.@+-]+)+/?")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scrub_paths(text: str) -> str:
    """`text` with every absolute path (/home/..., /work/..., ~/...) replaced by its base
    name: a preset never carries the publisher's folders."""

    def base(match: re.Match[str]) -> str:
        path = match.group(0).rstrip("/")
        return Path(path).name or "."

    return _ABSOLUTE.sub(base, text)


def versions() -> dict[str, str]:
    from zoo.version import versions as recorded

    return recorded()


def write_manifest(folder: Path, *, name: str, extra: dict[str, Any]) -> dict[str, Any]:
    """List every file under `folder` (but the manifest) with its sha256 and size."""
    from zoo.runs.temporary import MARK

    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel in (MANIFEST, MARK):
            continue
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "versions": versions(),
        **extra,
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(folder: Path, where: str | None = None) -> dict[str, Any]:
    """The manifest of the preset at `folder`; a clear ZooError when it is missing or not
    a zoo preset manifest. `where` names the preset in messages (its URI)."""
    where = where or str(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ZooError(
            f"{where} is not a zoo preset: it has no {MANIFEST} (the list of its files and "
            "their sha256). Publish the run again with `zoo publish RUN_DIR DEST`, or give "
            "the folder of a published preset."
        )
    data = bounded_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ZooError(f'{path} is not a zoo preset manifest (no "format": "{FORMAT}").')
    if data.get("format_version") != FORMAT_VERSION:
        raise ZooError(
            f"{path} has preset format version {data.get('format_version')!r}; this zoo "
            f"reads version {FORMAT_VERSION}. Upgrade zoo or publish the run again."
        )
    if not isinstance(data.get("files"), dict):
        raise ZooError(f"{path} lists no files; the preset is damaged.")
    try:
        Manifest.model_validate(data)
    except ValidationError as exc:
        raise ZooError(f"{path} is not a valid preset manifest: {problem(exc)}.") from None
    return data


def manifest_hash(folder: Path) -> str:
    return sha256_file(folder / MANIFEST)


def verify(folder: Path, where: str | None = None) -> dict[str, Any]:
    """Check every file against the manifest: a missing file, a file whose sha256 differs,
    or an unlisted required file is a ZooError naming the file. Returns the manifest."""
    where = where or str(folder)
    manifest = read_manifest(folder, where)
    files = manifest["files"]
    for required in REQUIRED:
        if required not in files:
            raise ZooError(f"The manifest of {where} does not list {required}; it is damaged.")
    for rel, entry in files.items():
        path = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise ZooError(f"The manifest of {where} names {rel!r}, outside the preset.")
        if not path.is_file():
            raise ZooError(f"{where}: the file {rel} listed in {MANIFEST} is missing.")
        digest = sha256_file(path)
        if digest != entry.get("sha256"):
            raise ZooError(
                f"{where}: {rel} does not match its sha256 in {MANIFEST} (expected "
                f"{str(entry.get('sha256'))[:12]}..., found {digest[:12]}...): the file was "
                "changed or damaged after publishing; it is not loaded. Download or publish "
                "the preset again."
            )
    return manifest


def read_json(folder: Path, name: str) -> Any:
    """`folder/name` as JSON, bounded in size and depth (zoo.fs.read_json)."""
    return bounded_json(folder / name)


def listed(folder: Path, manifest: dict[str, Any], name: str) -> Path | None:
    """`folder/name` when the (verified) manifest lists it, else None: a file the
    manifest does not list is never read, whoever put it there."""
    return folder / name if name in manifest["files"] else None


def read_config(folder: Path) -> PresetConfig:
    """The preset's config.json, typed; a damaged one is a ZooError naming the field."""
    path = folder / CONFIG
    try:
        return PresetConfig.model_validate(bounded_json(path))
    except ValidationError as exc:
        raise ZooError(f"{path} is not a valid preset config: {problem(exc)}.") from None


def is_preset(folder: Path) -> bool:
    return (folder / MANIFEST).is_file() and (folder / CONFIG).is_file()
