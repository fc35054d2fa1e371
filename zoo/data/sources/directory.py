"""Class-per-folder trees of text files or images: `<split>/<class>/<file>`.

Read with `keras.utils.text_dataset_from_directory` / `image_dataset_from_directory`,
unbatched, then finished like every source (cache, shuffle, batch, prefetch). `data.path`
may be an archive, extracted once into a cache (see `zoo.data.archive`). Without a
validation folder, `data.validation_fraction` of the training files (picked with the
recipe's seed) is held out for validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.data.archive import locate
from zoo.data.bundle import DataBundle, DataInfo
from zoo.data.pipeline import finish_split
from zoo.errors import DataError, did_you_mean

if TYPE_CHECKING:
    from zoo.config.schema import DirectoryData

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
        return present
    missing = [c for c in wanted if c not in present]
    if missing:
        raise DataError(
            f"data.class_names names {', '.join(map(repr, missing))}, missing in {folder}."
            + did_you_mean(missing[0], present)
            + f" Its class folders: {', '.join(present)}."
        )
    return list(wanted)


def _read(config: DirectoryData, role: str, folder: Path, classes: list[str], **kwargs: Any):
    """Keras's reader for `config.kind`, unbatched; ValueErrors become DataErrors."""
    import keras

    common = dict(
        labels="inferred",
        label_mode="int",
        class_names=classes,
        batch_size=None,
        verbose=False,
        **kwargs,
    )
    try:
        if config.kind == "text":
            return keras.utils.text_dataset_from_directory(str(folder), **common)
        return keras.utils.image_dataset_from_directory(
            str(folder), image_size=config.image_size, color_mode=config.color_mode, **common
        )
    except ValueError as exc:
        raise DataError(
            f"data.splits.{role}: cannot read {folder} as {config.kind} classes "
            f"{', '.join(classes)}: {exc}"
        ) from None


def load(config: DirectoryData, *, batch_size: int, seed: int) -> DataBundle:
    import tensorflow as tf

    root = locate(config.path, config.extract_dir)
    if not root.is_dir():
        raise DataError(
            f"data.path {root} is a file; a directory source needs a folder or archive."
        )
    suffixes = TEXT_SUFFIXES if config.kind == "text" else IMAGE_SUFFIXES
    train_dir = _folder(root, "train", config.splits.train)
    classes = _classes(train_dir, config.class_names, "train")

    raw: dict[str, tf.data.Dataset | None] = {"validation": None, "test": None}
    if config.splits.validation is None and config.validation_fraction > 0:
        raw["train"], raw["validation"] = _read(
            config,
            "train",
            train_dir,
            classes,
            shuffle=True,
            seed=seed,
            validation_split=config.validation_fraction,
            subset="both",
        )
    else:
        raw["train"] = _read(config, "train", train_dir, classes, shuffle=True, seed=seed)
    for role in ("validation", "test"):
        name = getattr(config.splits, role)
        if name is not None:
            folder = _folder(root, role, name)
            _classes(folder, classes, role)
            raw[role] = _read(config, role, folder, classes, shuffle=False)

    pipelines: dict[str, tf.data.Dataset | None] = {}
    sizes: dict[str, int] = {}
    for role, ds in raw.items():
        if ds is None:
            pipelines[role] = None
            continue
        sizes[role] = int(ds.cardinality())
        if sizes[role] <= 0:
            where = getattr(config.splits, role) or f"{config.splits.train} (validation part)"
            raise DataError(
                f"data.splits.{role}: no {config.kind} files ({', '.join(suffixes)}) in the "
                f"class folders {', '.join(classes)} of {root / where}."
            )
        pipelines[role] = finish_split(ds, config, role, batch_size=batch_size, seed=seed)
    if config.kind == "text":
        shape: tuple[int, ...] = ()
        dtype, name = "string", "text"
    else:
        channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[config.color_mode]
        shape, dtype, name = (*config.image_size, channels), "float32", "image"
    info = DataInfo(
        input_name=name,
        input_shape=shape,
        input_dtype=dtype,
        num_classes=len(classes),
        class_names=tuple(classes),
        num_examples=sizes,
    )
    return DataBundle(info=info, **pipelines)  # train/validation/test
