"""NumPy `.npz` archives holding each split's inputs and labels under named keys.

MedMNIST ships its datasets this way (`train_images`, `train_labels`, `val_images`, ...).
The archive is read in place with `allow_pickle=False` (object arrays are refused, so a
file cannot run code), checked whole before any pipeline is built, and every problem
(missing file or key, empty split, counts or shapes that disagree) is a DataError that
names the recipe field to fix.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.data.bundle import DataBundle, DataInfo
from zoo.data.pipeline import finish_split
from zoo.data.root import resolve
from zoo.errors import DataError

if TYPE_CHECKING:
    import numpy as np

    from zoo.config.schema import NpzData

ROLES = ("train", "validation", "test")


def _open(path: Path):
    import numpy as np

    if not path.is_file():
        raise DataError(
            f"data.path: no npz archive at {path}. Check the path (relative paths are taken "
            "from the recipe's folder)."
        )
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DataError(
            f"data.path: {path} is not a readable .npz archive ({type(exc).__name__}: {exc})."
        ) from None


def _read(config: NpzData, archive, role: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels as int64 of shape (N,)) of one split, checked."""
    import numpy as np

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
    try:
        images = archive[keys["images_key"]]
        labels = archive[keys["labels_key"]]
    except ValueError as exc:  # Object arrays need pickle, which stays off.
        raise DataError(f"data.path: {config.path} holds an unreadable array: {exc}") from None
    if len(images) == 0:
        raise DataError(f"data.splits.{role} {name!r}: {keys['images_key']!r} is empty.")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"data.splits.{role} {name!r}: labels {keys['labels_key']!r} must be integer class "
            f"indices shaped (N,) or (N, 1); got {labels.dtype} {labels.shape}."
        )
    if len(labels) != len(images):
        raise DataError(
            f"data.splits.{role} {name!r}: {len(images)} inputs in {keys['images_key']!r} but "
            f"{len(labels)} labels in {keys['labels_key']!r}; they must match one to one."
        )
    if labels.min() < 0:
        raise DataError(f"data.splits.{role} {name!r}: labels must be >= 0, found {labels.min()}.")
    return images, labels.astype(np.int64)


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
    import tensorflow as tf

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
    top = max(int(labels.max()) for _, labels in arrays.values())
    num_classes = len(config.class_names) if config.class_names else top + 1
    if top >= num_classes:
        raise DataError(
            f"data.class_names names {num_classes} classes, but {path} has label {top}."
        )
    raw_shape = tuple(int(d) for d in shapes["train"])
    video = None
    if config.video is not None:
        from zoo.data.preprocessing.video import plan

        video = plan(config.video, raw_shape, seed=seed)

    pipelines: dict[str, tf.data.Dataset | None] = dict.fromkeys(ROLES)
    for role, (images, labels) in arrays.items():
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        pipelines[role] = finish_split(
            ds, config, role, batch_size=batch_size, seed=seed, video=video
        )

    info = DataInfo(
        input_name=_input_name(config.images_key),
        input_shape=video.served_shape if video else raw_shape,
        input_dtype=arrays["train"][0].dtype.name,
        num_classes=num_classes,
        class_names=tuple(config.class_names or (str(c) for c in range(num_classes))),
        num_examples={role: len(labels) for role, (_, labels) in arrays.items()},
        model_inputs={"input_shape": video.model_shape} if video else {},
    )
    preprocessor = video.preprocessor if video else None
    return DataBundle(info=info, preprocessor=preprocessor, **pipelines)  # train/validation/test
