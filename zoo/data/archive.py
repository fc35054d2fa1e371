"""Archives (`.tar.gz`, `.tgz`, `.tar`, `.zip`, ...) extracted once into a cache folder.

The cache key is the archive's absolute path, size and modification time, so a changed
archive is extracted afresh and an unchanged one never twice. Extraction goes to a
temporary folder renamed into place at the end: a crash leaves no half-extracted tree
that looks complete. Members with absolute paths, `..`, links or device files are
refused before anything is written (an archive must not write outside its folder).

Extraction is capped (an archive bomb must not fill the disk): the total uncompressed
size (ZOO_EXTRACT_LIMIT_BYTES, default 20 GiB) and the ratio of uncompressed to archive
size (ZOO_EXTRACT_MAX_RATIO, default 200). Both are checked from the member headers
before anything is written, and again on the bytes actually written, so a header that
lies stops extraction at the cap.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from zoo.config.paths import resolve
from zoo.errors import DataError
from zoo.fs import temp_dir
from zoo.settings import extracted_root

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")
LIMIT_ENV, RATIO_ENV = "ZOO_EXTRACT_LIMIT_BYTES", "ZOO_EXTRACT_MAX_RATIO"
DEFAULT_LIMIT_BYTES = 20 * 1024**3
DEFAULT_MAX_RATIO = 200.0
_CHUNK = 1 << 20


class _Budget:
    """Bytes an extraction may still write: the size cap and the ratio cap in one."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.limit = _env_number(LIMIT_ENV, DEFAULT_LIMIT_BYTES)
        self.ratio = _env_number(RATIO_ENV, DEFAULT_MAX_RATIO)
        packed = max(archive.stat().st_size, 1)
        self.allowed = min(self.limit, self.ratio * packed)
        self.written = 0

    def refuse(self, total: float, how: str) -> DataError:
        size = max(self.archive.stat().st_size, 1)
        return DataError(
            f"Archive {self.archive} {how} {total:,.0f} bytes uncompressed from {size:,} bytes "
            f"(ratio {total / size:,.0f}:1), over the extraction limits of "
            f"{self.limit:,.0f} bytes ({LIMIT_ENV}) and a ratio of {self.ratio:g}:1 "
            f"({RATIO_ENV}); refusing to extract it (an archive bomb?). If it is genuine, "
            "raise those limits in the environment."
        )

    def declare(self, total: int) -> None:
        """Check the sizes the member headers declare, before writing anything."""
        if total > self.allowed:
            raise self.refuse(total, "declares")

    def copy(self, source: Any, target: Path) -> None:
        """Stream one member to `target`, stopping at the cap whatever its header said."""
        with target.open("wb") as out:
            while chunk := source.read(_CHUNK):
                self.written += len(chunk)
                if self.written > self.allowed:
                    raise self.refuse(self.written, "expands to more than")
                out.write(chunk)


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number <= 0:
        raise DataError(f"{name}={value!r} is not a positive number; set it to one, or unset it.")
    return number


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


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


def _write(into: Path, entries: list[tuple[str, bool, Any]], budget: _Budget) -> None:
    """Write checked (name, is folder, opener) entries below `into`, within `budget`."""
    for name, is_dir, opener in entries:
        target = into.joinpath(*PurePosixPath(name.replace("\\", "/")).parts)
        if is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with opener() as source:
            budget.copy(source, target)


def _extract_tar(archive: Path, into: Path) -> None:
    budget = _Budget(archive)
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for m in members:
            _check_name(archive, m.name)
            if not (m.isfile() or m.isdir()):
                raise DataError(
                    f"Archive {archive} holds {m.name!r}, a link or special file; only "
                    "plain files and folders are extracted. Repack it without links."
                )
        budget.declare(sum(m.size for m in members if m.isfile()))
        entries = [(m.name, m.isdir(), lambda m=m: tar.extractfile(m)) for m in members]
        _write(into, entries, budget)


def _extract_zip(archive: Path, into: Path) -> None:
    budget = _Budget(archive)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            _check_name(archive, info.filename)
        budget.declare(sum(i.file_size for i in infos))
        entries = [(i.filename, i.is_dir(), lambda i=i: zf.open(i)) for i in infos]
        _write(into, entries, budget)


def extract(archive: Path, root: Path | None = None) -> Path:
    """The folder holding `archive`'s contents, extracting it first if needed."""
    archive = archive.resolve()
    stat = archive.stat()
    key = hashlib.sha256(f"{archive}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    root = Path(root) if root is not None else extracted_root()
    target = root / f"{_stem(archive)}-{key[:12]}"
    if target.is_dir():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = temp_dir(f".{target.name}.tmp-", root)
    except OSError as exc:
        raise _folder_error(archive, root, exc) from None
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
    except (PermissionError, IsADirectoryError) as exc:
        raise _folder_error(archive, root, exc) from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            raise _folder_error(archive, root, exc) from None
        raise _unreadable(archive, root, exc) from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise _unreadable(archive, root, exc) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _folder_error(archive: Path, root: Path, exc: OSError) -> DataError:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    problem = "is full" if full else f"cannot be written ({exc.strerror or exc})"
    return DataError(
        f"Cannot extract archive {archive}: the extraction folder {root} {problem}. "
        "Set data.extract_dir (or TFDS_DATA_DIR) to a writable folder with room"
        + (", or free some space." if full else ".")
    )


def _unreadable(archive: Path, root: Path, exc: BaseException) -> DataError:
    return DataError(
        f"Cannot extract archive {archive} into {root}: {type(exc).__name__}: {exc}. "
        "Is the file complete and a valid archive?"
    )


def ensure_ready(config: Any) -> str:
    """For the file sources (`directory`, `csv`): extract `data.path` if it is an archive."""
    where = locate(config.path, config.extract_dir)
    return f"extracted in {where}" if where != resolve(config.path) else f"{where} present"


def locate(path: str, extract_dir: str | None = None) -> Path:
    """`data.path` as a local folder or file: archives are extracted (once) first.
    A `zoo-data://` path is looked up under the data root (zoo/config/paths.py)."""
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
