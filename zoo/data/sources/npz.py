"""NumPy `.npz` archives holding each split's inputs and labels under named keys.

MedMNIST ships its datasets this way (`train_images`, `train_labels`, `val_images`, ...).
The archive is read in place with `allow_pickle=False` (object arrays are refused, so a
file cannot run code), checked whole before any pipeline is built, and every problem
(missing file or key, empty split, counts or shapes that disagree) is a DataError that
names the recipe field to fix.

Data larger than memory: members stored uncompressed (`numpy.savez`) are memory-mapped
in place (their offset inside the zip found from the member's local header), and
`data.path` may also be a folder of `<key>.npy` files, opened with `mmap_mode="r"`.
Mapped splits stream into tf.data a chunk at a time (`CHUNK_BYTES`; training chunks in a
seeded order that changes every epoch), so an archive bigger than RAM trains; a member
whose bytes end early (a truncated file) is named, at load and, should the file be
truncated or rewritten while the run reads it, mid-run (the bundle's `explain` returns
that error). Compressed members (`numpy.savez_compressed`) cannot be mapped and are read
whole.
"""

from __future__ import annotations

import contextlib
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.config.paths import resolve
from zoo.data.bundle import DataBundle, DataInfo
from zoo.data.check import MAX_INFERRED_CLASSES, SplitStats, refuse_bad_kind, scan_arrays
from zoo.data.pipeline import finish_split
from zoo.data.pipeline_errors import Recorder
from zoo.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf

    from zoo.config.schema import NpzData

ROLES = ("train", "validation", "test")


NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"


def _open(path: Path):
    """The opened archive (or `.npy` folder); a `.npy` file, a special file or a
    non-archive gets a message."""
    import stat

    import numpy as np

    if path.is_dir():
        folder = NpyFolder(path)
        if not folder.files:
            raise DataError(
                f"data.path: the folder {path} holds no .npy files; give an .npz archive or a "
                "folder of <key>.npy arrays (e.g. train_images.npy, train_labels.npy)."
            )
        return folder
    if not path.is_file():
        kind = "" if not path.exists() else " (it is not a regular file)"
        raise DataError(
            f"data.path: no npz archive at {path}{kind}. Check the path (relative paths are "
            "taken from the recipe's folder)."
        )
    if not stat.S_ISREG(path.stat().st_mode):  # pragma: no cover  (is_file follows links)
        raise DataError(f"data.path: {path} is not a regular file.")
    with path.open("rb") as f:
        head = f.read(6)
    if head == NPY_MAGIC:
        raise DataError(
            f"data.path: {path} is a single NumPy array (.npy), not an .npz archive. An npz "
            "holds named arrays per split, e.g. train_images, train_labels, test_images, "
            "test_labels (data.images_key / data.labels_key name them): save them with "
            "numpy.savez(path, train_images=..., train_labels=..., ...)."
        )
    if not head.startswith(ZIP_MAGIC):
        raise DataError(
            f"data.path: {path} is not an .npz archive (an npz is a zip of .npy arrays, as "
            "numpy.savez writes). Point data.path at the .npz file."
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(
            f"data.path: {path} is not a readable .npz archive ({type(exc).__name__}: {exc}). "
            "Is the file complete? Write it again with numpy.savez."
        ) from None
    if not hasattr(archive, "files"):  # pragma: no cover  (magic bytes checked above)
        raise DataError(f"data.path: {path} is not an .npz archive.")
    return archive


# Arrays up to this size are copied into the graph (fastest); larger ones stream.
INLINE_BYTES = 64 << 20
CHUNK_BYTES = 16 << 20


class NpyFolder:
    """A folder of `<key>.npy` files, read like an npz archive (each memory-mapped)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files = sorted(p.stem for p in folder.glob("*.npy"))

    def __getitem__(self, key: str):
        import numpy as np

        return np.load(self.folder / f"{key}.npy", mmap_mode="r", allow_pickle=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def _mapped(archive, key: str):
    """The member `key` memory-mapped in place when stored uncompressed, else None."""
    import struct

    import numpy as np

    zf = getattr(archive, "zip", None)
    if zf is None or not getattr(archive, "fid", None):
        return None
    info = zf.getinfo(f"{key}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    path = archive.fid.name
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        f.seek(start)
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
        size = f.seek(0, 2)
    if dtype.hasobject:
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset + nbytes > size or info.file_size < offset - start + nbytes:
        raise EOFError(
            f"the member holds {max(0, min(size, start + info.file_size) - offset):,} of the "
            f"{nbytes:,} bytes its header announces"
        )
    if nbytes == 0:
        return np.zeros(shape, dtype)
    order = "F" if fortran else "C"
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)


def _member(config: NpzData, archive, key: str) -> np.ndarray:
    """One array of the archive, memory-mapped when it can be, else read whole; damaged
    (truncated) or pickled members are named."""
    import zlib

    try:
        mapped = _mapped(archive, key)
        return mapped if mapped is not None else archive[key]
    except ValueError as exc:  # Object arrays need pickle, which stays off.
        detail = f"{exc}"
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, KeyError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
    raise DataError(
        f"data.path: the member {key!r} of {config.path} cannot be read ({detail}); the file "
        "is damaged or truncated, or holds Python objects (loaded without pickle). Write "
        "it again with numpy.savez from numeric arrays."
    )


def _read(config: NpzData, archive, role: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels of shape (N,)) of one split, checked for what any model needs."""
    keys = {
        "images_key": config.images_key.format(split=name),
        "labels_key": config.labels_key.format(split=name),
    }
    missing = [f"{k} {v!r}" for k, v in keys.items() if v not in archive.files]
    if missing:
        raise DataError(
            f"data.splits.{role} {name!r}: {config.path} has no {' and no '.join(missing)}. "
            f"Its keys: {', '.join(archive.files)}. Fix data.splits.{role} or the key "
            "patterns data.images_key / data.labels_key ({split} stands for the split name)."
        )
    images = _member(config, archive, keys["images_key"])
    labels = _member(config, archive, keys["labels_key"])
    where = f"data.splits.{role} {name!r}: the member"
    refuse_bad_kind(images, f"{where} {keys['images_key']!r} of {config.path}")
    refuse_bad_kind(labels, f"{where} {keys['labels_key']!r} of {config.path}", labels=True)
    if len(images) == 0:
        raise DataError(
            f"data.splits.{role} {name!r}: {keys['images_key']!r} is empty; a split needs "
            "examples. Fill it, or remove the split from data.splits."
        )
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DataError(
            f"data.splits.{role} {name!r}: labels {keys['labels_key']!r} must be integer class "
            f"indices shaped (N,) or (N, 1); got {labels.dtype} {labels.shape}."
        )
    if len(labels) != len(images):
        raise DataError(
            f"data.splits.{role} {name!r}: {len(images)} inputs in {keys['images_key']!r} but "
            f"{len(labels)} labels in {keys['labels_key']!r}; they must match one to one."
        )
    return images, labels


def _class_names(config: NpzData, num_classes: int) -> tuple[str, ...]:
    """The recipe's names, else "0", "1", ...; none for an implausible inferred count (the
    data check refuses it, naming the stray label, before anything this big is made)."""
    if config.class_names:
        return tuple(config.class_names)
    if num_classes > MAX_INFERRED_CLASSES:
        return ()
    return tuple(str(c) for c in range(num_classes))


def _guard(array: np.ndarray, what: str, recorder: Recorder) -> Callable[[], None] | None:
    """For a memory-mapped array, a check run before each chunk is read: its file still
    holds the array's bytes, unchanged. Reading a mapping past the end of a file truncated
    meanwhile would kill the process (SIGBUS) with no message; a file rewritten in place
    would silently mix two versions of the data. A file replaced (a new inode) is fine:
    the mapping keeps the old one's bytes."""
    filename = getattr(array, "filename", None)
    if filename is None:
        return None
    end = int(getattr(array, "offset", 0)) + int(array.nbytes)
    then = os.stat(filename)

    def check() -> None:
        try:
            now = os.stat(filename)
        except FileNotFoundError:  # Removed: the mapping still holds the old file.
            return
        if (now.st_ino, now.st_dev) != (then.st_ino, then.st_dev):
            return
        if now.st_size < end:
            detail = f"now holds {now.st_size:,} bytes, but the member ends at byte {end:,}"
        elif now.st_mtime_ns != then.st_mtime_ns:
            detail = "was modified after the run loaded it"
        else:
            return
        recorder.fail(
            DataError(
                f"data.path: {what} changed while the run read it: the file {detail} "
                "(truncated or rewritten in place). Leave the file unchanged while a run "
                "reads it (write a new file and point data.path at it), restore it, and run "
                "again."
            )
        )

    return check


def _release(images: np.ndarray, lo: int, hi: int) -> None:
    """Drop rows lo..hi of a memory-mapped array from this process's memory once copied
    (madvise DONTNEED: the pages stay in the system's file cache, and a later read faults
    them back in). Without it every page a run has read counts in its resident memory, so
    a long run over a big archive would look as if it held the whole file."""
    mm = getattr(images, "_mmap", None)
    if mm is None or not images.flags.c_contiguous or not hasattr(mm, "madvise"):
        return
    import mmap

    row = images[:1].nbytes
    base = int(images.offset) % mmap.ALLOCATIONGRANULARITY  # Where the data starts in `mm`.
    start, end = base + lo * row, min(len(mm), base + hi * row)
    start -= start % mmap.PAGESIZE
    with contextlib.suppress(OSError, ValueError):
        mm.madvise(mmap.MADV_DONTNEED, start, end - start)


def _slices(
    images: np.ndarray,
    labels: np.ndarray,
    what: str,
    recorder: Recorder,
    *,
    order_seed: int | None = None,
    shuffle_buffer: int = 0,
) -> tf.data.Dataset:
    """Examples of a split: small arrays inline, large (mapped) ones a chunk at a time,
    so only the chunks in flight are in memory. `what` names the inputs' member.

    With an `order_seed` (the training split) the chunks come in a seeded order that
    changes every epoch, and each holds at most 1/16 of the shuffle buffer, so the buffer
    mixes examples from at least 16 places of the file: an archive sorted by class still
    trains on mixed batches (the multi-file sources shuffle their file order the same way).
    """
    import numpy as np
    import tensorflow as tf

    if images.nbytes <= INLINE_BYTES:
        return tf.data.Dataset.from_tensor_slices((np.asarray(images), labels))
    per = max(1, CHUNK_BYTES // max(1, images[:1].nbytes))
    if order_seed is not None and shuffle_buffer > 1:
        per = max(1, min(per, shuffle_buffer // 16))
    n = len(labels)
    starts = np.arange(0, n, per)
    epochs = iter(range(1 << 62))
    guard = _guard(images, what, recorder)

    def chunks():
        order = starts
        if order_seed is not None:
            order = np.random.default_rng([order_seed, next(epochs)]).permutation(starts)
        for start in order.tolist():
            if guard is not None:
                guard()
            chunk = np.array(images[start : start + per])  # A copy: the mapping is let go.
            _release(images, start, start + per)
            yield chunk, labels[start : start + per]

    spec = (
        tf.TensorSpec((None, *images.shape[1:]), tf.as_dtype(images.dtype)),
        tf.TensorSpec((None,), tf.int64),
    )
    return tf.data.Dataset.from_generator(chunks, output_signature=spec).unbatch()


def _version(path: Path) -> list[int]:
    """The archive's (or each .npy file's) size and mtime: rewritten data invalidates its
    disk caches."""
    files = sorted(path.glob("*.npy")) if path.is_dir() else [path]
    return [v for f in files for v in (f.stat().st_size, f.stat().st_mtime_ns)]


def _input_name(images_key: str) -> str:
    """`{split}_images` → `images`: the export signature's input name."""
    name = re.sub(r"\W+", "_", images_key.replace("{split}", "")).strip("_")
    return name or "inputs"


def ensure_ready(config: NpzData) -> str:
    """Check the archive holds every split the recipe names; nothing to prepare."""
    names = {role: getattr(config.splits, role) for role in ROLES}
    with _open(resolve(config.path)) as archive:
        counts = {n: len(_read(config, archive, role, n)[1]) for role, n in names.items() if n}
    return f"{config.path}: " + ", ".join(f"{n} {c:,}" for n, c in counts.items())


def load(config: NpzData, *, batch_size: int, seed: int) -> DataBundle:
    import numpy as np

    path = resolve(config.path)
    names = {role: getattr(config.splits, role) for role in ROLES}
    with _open(path) as archive:
        arrays = {role: _read(config, archive, role, n) for role, n in names.items() if n}
    shapes = {role: images.shape[1:] for role, (images, _) in arrays.items()}
    if len({(s, arrays[r][0].dtype) for r, s in shapes.items()}) > 1:
        described = ", ".join(f"{r} {arrays[r][0].dtype} {s}" for r, s in shapes.items())
        raise DataError(
            f"data.path: the splits of {path} hold inputs of different shapes or types "
            f"({described}); every split must hold the same kind of example."
        )
    stats: dict[str, SplitStats] = {}
    if config.check:  # Complete: every value of every split, a chunk at a time.
        for role, (images, labels) in arrays.items():
            key = config.images_key.format(split=names[role])
            stats[role] = scan_arrays(
                role, images, labels, lambda i, key=key: f"index {i} of {key!r} in {path}"
            )
    top = max(int(labels.max()) for _, labels in arrays.values())
    num_classes = len(config.class_names) if config.class_names else top + 1
    raw_shape = tuple(int(d) for d in shapes["train"])
    video = None
    if config.video is not None:
        from zoo.data.preprocessing.video import plan

        video = plan(config.video, raw_shape, seed=seed)

    pipelines: dict[str, tf.data.Dataset | None] = dict.fromkeys(ROLES)
    recorder = Recorder()  # Errors met mid-run by the chunk readers: the bundle's explain.
    version = _version(path)
    for role, (images, labels) in arrays.items():
        key = config.images_key.format(split=names[role])
        ds = _slices(
            images,
            np.asarray(labels).astype(np.int64),
            f"the member {key!r} of {path}",
            recorder,
            order_seed=seed if role == "train" else None,
            shuffle_buffer=config.shuffle_buffer,
        )
        pipelines[role] = finish_split(
            ds,
            config,
            role,
            batch_size=batch_size,
            seed=seed,
            video=video,
            size_bytes=int(images.nbytes + labels.nbytes),
            examples=len(labels),
            version=version,
        )

    info = DataInfo(
        input_name=_input_name(config.images_key),
        input_shape=video.served_shape if video else raw_shape,
        input_dtype=arrays["train"][0].dtype.name,
        num_classes=num_classes,
        class_names=_class_names(config, num_classes),
        num_examples={role: len(labels) for role, (_, labels) in arrays.items()},
        model_inputs={"input_shape": video.model_shape} if video else {},
    )
    preprocessor = video.preprocessor if video else None
    return DataBundle(
        info=info,
        preprocessor=preprocessor,
        stats=stats,
        explain=recorder.explain,
        **pipelines,  # train/validation/test
    )
