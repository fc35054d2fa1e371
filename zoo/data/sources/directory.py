"""Class-per-folder trees of text files or images: `<split>/<class>/<file>`.

Files are listed as Keras's `text_dataset_from_directory` / `image_dataset_from_directory`
list them (each class folder walked recursively, suffixes compared case-insensitively)
and read the way they read them (raw bytes; images decoded, resized, float32 0–255), but
zoo lists them itself so that every listed path is checked before any is opened: a
dangling symlink, a FIFO (which would block the first read forever), a socket or a
device is refused by name using `os.stat` only. With the data check on, every image is
decoded once up front so a corrupt or truncated file is named before training, not met
mid-epoch. `data.path` may be an archive, extracted once into a cache (see
`zoo.data.archive`). Without a validation folder, `data.validation_fraction` of the
training files (picked with the recipe's seed) is held out for validation.
"""

from __future__ import annotations

import logging
import math
import os
import random
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from zoo import limits
from zoo.data.archive import locate
from zoo.data.bundle import DataBundle, DataInfo, Explain
from zoo.data.check import SplitStats, decode_images, gif_channels_message, label_stats
from zoo.data.image_header import check_image_file
from zoo.data.pipeline import finish_split
from zoo.data.pipeline_errors import error_text, message
from zoo.errors import DataError, ZooError, did_you_mean

if TYPE_CHECKING:
    import tensorflow as tf

    from zoo.config.schema import DirectoryData

log = logging.getLogger("zoo")

TEXT_SUFFIXES = (".txt",)
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _folder(root: Path, role: str, name: str) -> Path:
    folder = root / name
    if not folder.is_dir():
        parent = folder.parent
        present = sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []
        raise DataError(
            f"data.splits.{role} names the folder {name!r}, but {folder} is not a folder."
            + did_you_mean(folder.name, present)
            + (f" Folders in {folder.parent}: {', '.join(present)}." if present else "")
        )
    return folder


def _classes(folder: Path, wanted: list[str] | None, role: str) -> list[str]:
    present = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not present:
        raise DataError(
            f"{folder} (data.splits.{role}) holds no class folders: a directory source "
            "needs one sub-folder per class, e.g. train/neg/*.txt and train/pos/*.txt."
        )
    if wanted is None:
        why = limits.CLASSES.problem(len(present), f"the number of class folders in {folder}")
        if why:
            raise DataError(f"data.splits.{role}: {why}")
        return present
    missing = [c for c in wanted if c not in present]
    if missing:
        raise DataError(
            f"data.class_names names {', '.join(map(repr, missing))}, missing in {folder}."
            + did_you_mean(missing[0], present)
            + f" Its class folders: {', '.join(present)}."
        )
    return list(wanted)


_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe), which would block the first read forever"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)

Listing = list[tuple[str, int]]  # (file path, class index)


def _regular(path: str, role: str) -> None:
    """Refuse anything but a readable regular file, without opening it (stat only)."""
    try:
        mode = os.stat(path).st_mode  # Follows symlinks; never opens the file.
    except FileNotFoundError:
        target = os.readlink(path) if os.path.islink(path) else "?"
        raise DataError(
            f"data.splits.{role}: {path} is a symbolic link to {target}, which does not "
            "exist (a dangling link). Remove the link or restore its target."
        ) from None
    except OSError as exc:
        raise DataError(
            f"data.splits.{role}: cannot inspect {path} ({exc.strerror}). Remove or fix it."
        ) from None
    if not stat.S_ISREG(mode):
        kind = next((k for test, k in _SPECIAL if test(mode)), "not a regular file")
        raise DataError(
            f"data.splits.{role}: {path} is {kind}, not a data file. Remove it from the "
            "class folder (only regular files, or links to them, are read)."
        )
    if not os.access(path, os.R_OK):
        raise DataError(
            f"data.splits.{role}: {path} is not readable (permission denied). Fix its "
            "permissions (chmod a+r) or remove it."
        )


def _list(
    folder: Path,
    classes: list[str],
    suffixes: tuple[str, ...],
    role: str,
    color_mode: str | None = None,
) -> Listing:
    """Every (file, class index) under `folder/<class>/`, recursively, in a fixed order;
    each checked to be a readable regular file, and images (`color_mode` given) checked
    from their headers (`_image_header_ok`)."""
    out: Listing = []
    animated = 0
    for label, name in enumerate(classes):
        walk = sorted(os.walk(folder / name), key=lambda entry: entry[0])
        for root, _, files in walk:
            for fname in sorted(files):
                if fname.lower().endswith(suffixes):
                    path = os.path.join(root, fname)
                    _regular(path, role)
                    if color_mode is not None:
                        animated += _image_header_ok(path, role, color_mode)
                    out.append((path, label))
    if animated:
        log.warning(
            "data.splits.%s: %d animated GIF(s); only the first frame of each is read",
            role,
            animated,
        )
    return out


def _check_utf8(paths: list[str], role: str) -> None:
    """Every text file must be UTF-8: TextVectorization's vocabulary cannot hold other
    bytes, and would fail after training with a traceback naming no file."""
    for path in paths:
        with open(path, "rb") as f:
            raw = f.read()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise DataError(
                f"data.splits.{role}: {path} is not UTF-8 text (line {line}, byte "
                f"{exc.start}: 0x{raw[exc.start]:02x}); text files are read as UTF-8. Re-save "
                f"it as UTF-8 (e.g. iconv -f latin1 -t utf-8), or remove it."
            ) from None


def _image_header_ok(path: str, role: str, color_mode: str) -> bool:
    """Refuse, from the header alone, an image too large to decode (`decoded_pixels` in
    zoo.limits) or a GIF the colour mode cannot read (GIFs decode to 3 channels only).
    Returns whether it is an animated GIF."""
    try:
        header = check_image_file(path, f"data.splits.{role}")
    except OSError as exc:
        raise DataError(
            f"data.splits.{role}: cannot read {path} ({exc.strerror or exc}). Fix or remove it."
        ) from None
    if header is None or header.format != "gif":
        return False
    if color_mode != "rgb":
        raise DataError(gif_channels_message(path, f"data.splits.{role}", color_mode))
    return header.animated


def _dataset(config: DirectoryData, listing: Listing) -> tf.data.Dataset:
    """Unbatched (input, label) examples, read as Keras's directory readers read them."""
    import tensorflow as tf

    paths = tf.constant([p for p, _ in listing], tf.string)
    labels = tf.constant([c for _, c in listing], tf.int32)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    if config.kind == "text":
        return ds.map(lambda p, y: (tf.io.read_file(p), y), num_parallel_calls=tf.data.AUTOTUNE)
    channels = _CHANNELS[config.color_mode]
    size = tuple(config.image_size)

    def image(path, label):
        img = tf.io.read_file(path)
        img = tf.image.decode_image(img, channels=channels, expand_animations=False)
        img = tf.image.resize(img, size, method="bilinear")
        img.set_shape((*size, channels))
        return img, label

    return ds.map(image, num_parallel_calls=tf.data.AUTOTUNE)


_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def _explainer(config: DirectoryData, listings: dict[str, Listing], unchecked: dict) -> Explain:
    """The bundle's `explain` hook: names the file behind an error tf.data raised mid-run.

    A read error names its file (one removed or replaced after listing); a decode error
    does not, so the images the data check did not decode (`unchecked`, per split, in
    listing order) are decoded now, in order, and the first that fails is named.
    """

    def explain(exc: BaseException) -> ZooError | None:
        text = error_text(exc)
        for role, listing in listings.items():
            for path, _ in listing:
                if path in text:
                    return DataError(
                        f"data.splits.{role}: reading {path} failed during the run "
                        f"({message(exc)}); it was removed, moved or changed after the data "
                        "was listed. Restore it, or remove it from the class folder."
                    )
        if config.kind != "image" or not any(unchecked.values()):
            return None
        log.info(
            "locating the image that failed to decode (decoding the %d images the data "
            "check did not reach; this may take a while)",
            sum(len(paths) for paths in unchecked.values()),
        )
        for role, paths in unchecked.items():
            try:
                decode_images(paths, _CHANNELS[config.color_mode], role, max_seconds=math.inf)
            except DataError as err:
                return DataError(
                    f"{err} (Met during the run: the data check had not decoded it before "
                    "training, within its time budget.)"
                )
        return None

    return explain


def _size(config: DirectoryData, listing: Listing) -> int:
    """Decoded bytes of a split: float32 pixels per image, or the text files' bytes."""
    if config.kind == "image":
        h, w = config.image_size
        return len(listing) * h * w * _CHANNELS[config.color_mode] * 4
    return sum(os.stat(p).st_size for p, _ in listing)


def _version(listing: Listing) -> str:
    """A digest of every listed file's path, size and mtime (stat only, no reads)."""
    import hashlib

    digest = hashlib.sha256()
    for path, label in listing:
        st = os.stat(path)
        digest.update(f"{path}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def load(config: DirectoryData, *, batch_size: int, seed: int) -> DataBundle:
    root = locate(config.path, config.extract_dir)
    if not root.is_dir():
        raise DataError(
            f"data.path {root} is a file; a directory source needs a folder or archive."
        )
    suffixes = TEXT_SUFFIXES if config.kind == "text" else IMAGE_SUFFIXES
    train_dir = _folder(root, "train", config.splits.train)
    classes = _classes(train_dir, config.class_names, "train")

    mode = config.color_mode if config.kind == "image" else None
    listings: dict[str, Listing] = {"train": _list(train_dir, classes, suffixes, "train", mode)}
    where = {"train": train_dir}
    if config.splits.validation is None and config.validation_fraction > 0:
        files = list(listings["train"])
        random.Random(seed).shuffle(files)
        n_val = int(config.validation_fraction * len(files))
        listings["train"], listings["validation"] = files[n_val:], files[:n_val]
        where["validation"] = train_dir
        if not files[:n_val] and files:
            raise DataError(
                f"data.validation_fraction {config.validation_fraction} of the "
                f"{len(files)} training files of {train_dir} holds no file; raise it, or "
                "give a validation folder in data.splits.validation."
            )
    for role in ("validation", "test"):
        name = getattr(config.splits, role)
        if name is not None:
            folder = _folder(root, role, name)
            _classes(folder, classes, role)
            listings[role], where[role] = _list(folder, classes, suffixes, role, mode), folder

    import numpy as np

    pipelines: dict[str, tf.data.Dataset | None] = {"validation": None, "test": None}
    sizes: dict[str, int] = {}
    stats: dict[str, SplitStats] = {}
    raw: dict[str, tf.data.Dataset] = {}
    versions: dict[str, str] = {}
    unchecked: dict[str, list[str]] = {}  # Images not decoded up front, in listing order.
    for role, listing in listings.items():
        if not listing:
            raise DataError(
                f"data.splits.{role}: no {config.kind} files ({', '.join(suffixes)}) in the "
                f"class folders {', '.join(classes)} of {where[role]}. Add files, or fix "
                "data.splits / data.kind."
            )
        sizes[role] = len(listing)
        paths, decoded = [p for p, _ in listing], 0
        if config.check:  # Complete: every file is listed, so labels are known exactly.
            labels = np.array([c for _, c in listing], np.int64)
            stats[role] = label_stats(role, labels, lambda i, lst=listing: f"file {lst[i][0]}")
            if config.kind == "image":
                decoded = decode_images(paths, _CHANNELS[config.color_mode], role)
            else:
                _check_utf8(paths, role)
        unchecked[role] = paths[decoded:] if config.kind == "image" else []
        if role == "train":
            order = list(listing)
            random.Random(seed).shuffle(order)  # A shuffled start, as Keras's reader gives.
            listing = order
        raw[role] = _dataset(config, listing)  # Uncached: what text adapting samples.
        versions[role] = _version(listing)
        pipelines[role] = finish_split(
            raw[role],
            config,
            role,
            batch_size=batch_size,
            seed=seed,
            size_bytes=_size(config, listing),
            examples=len(listing),
            version=versions[role],
        )
    if config.kind == "text":
        shape: tuple[int, ...] = ()
        dtype, name = "string", "text"
    else:
        channels = _CHANNELS[config.color_mode]
        shape, dtype, name = (*config.image_size, channels), "float32", "image"
    info = DataInfo(
        input_name=name,
        input_shape=shape,
        input_dtype=dtype,
        num_classes=len(classes),
        class_names=tuple(classes),
        num_examples=sizes,
    )
    return DataBundle(
        info=info,
        stats=stats,
        raw=raw,
        version=versions,
        explain=_explainer(config, listings, unchecked),
        **pipelines,  # train/validation/test
    )
