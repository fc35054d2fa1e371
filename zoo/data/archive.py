"""Archives (`.tar.gz`, `.tgz`, `.tar`, `.zip`, ...) extracted once into a cache folder.

The cache key is the archive's absolute path, size and modification time, so a changed
archive is extracted afresh and an unchanged one never twice. Extraction goes to a
temporary folder renamed into place at the end: a crash leaves no half-extracted tree
that looks complete. Members with absolute paths, `..`, links or device files are
refused before anything is written (an archive must not write outside its folder).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from zoo.data.root import resolve
from zoo.errors import DataError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def default_root() -> Path:
    """`extracted/` under TFDS_DATA_DIR when set, else ~/.cache/zoo/extracted."""
    tfds_dir = os.environ.get("TFDS_DATA_DIR")
    if tfds_dir:
        return Path(tfds_dir) / "extracted"
    return Path.home() / ".cache" / "zoo" / "extracted"


def _stem(path: Path) -> str:
    name = path.name
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _check_name(archive: Path, name: str) -> None:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise DataError(
            f"Archive {archive} holds the member {name!r}, which would be written outside "
            "the extraction folder (absolute path or '..'); refusing to extract it. "
            "Repack the archive with relative member names."
        )


def _extract_tar(archive: Path, into: Path) -> None:
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for m in members:
            _check_name(archive, m.name)
            if not (m.isfile() or m.isdir()):
                raise DataError(
                    f"Archive {archive} holds {m.name!r}, a link or special file; only "
                    "plain files and folders are extracted. Repack it without links."
                )
        tar.extractall(into, members=members, filter="data")


def _extract_zip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            _check_name(archive, name)
        zf.extractall(into)


def extract(archive: Path, root: Path | None = None) -> Path:
    """The folder holding `archive`'s contents, extracting it first if needed."""
    archive = archive.resolve()
    stat = archive.stat()
    key = hashlib.sha256(f"{archive}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    root = Path(root) if root is not None else default_root()
    target = root / f"{_stem(archive)}-{key[:12]}"
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=root))
    try:
        if archive.name.lower().endswith(".zip"):
            _extract_zip(archive, tmp)
        else:
            _extract_tar(archive, tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():  # Not a concurrent extraction winning the race.
                raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(
            f"Cannot extract archive {archive} into {root}: {type(exc).__name__}: {exc}. "
            "Is the file complete, and is there room in the extraction folder "
            "(data.extract_dir)?"
        ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_ready(config: Any) -> str:
    """For the file sources (`directory`, `csv`): extract `data.path` if it is an archive."""
    where = locate(config.path, config.extract_dir)
    return f"extracted in {where}" if where != resolve(config.path) else f"{where} present"


def locate(path: str, extract_dir: str | None = None) -> Path:
    """`data.path` as a local folder or file: archives are extracted (once) first.
    A `zoo-data://` path is looked up under the data root (zoo/data/root.py)."""
    p = resolve(path)
    if not p.exists():
        raise DataError(
            f"data.path {p} does not exist. Relative paths are taken from the recipe's "
            "folder; give a folder, a file or an archive (.tar.gz, .tgz, .tar, .zip), "
            "e.g. with --set data.path=/where/it/is."
        )
    if p.is_file() and is_archive(p):
        return extract(p, Path(extract_dir) if extract_dir else None)
    return p
