"""TensorFlow Datasets, prepared offline from a manual directory of the original files.

With a manual directory (recipe `data.manual_dir` or ZOO_TFDS_MANUAL_DIR) preparation
never touches the network: the files TFDS would download are checked there first, and a
missing one is reported at once with its name and size. Without one, TFDS downloads as
usual (its retries take minutes when offline, so offline users should set the dir).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import settings
from zoo.data.bundle import DataBundle, DataInfo
from zoo.data.pipeline import finish_split
from zoo.errors import DataError, did_you_mean

if TYPE_CHECKING:
    from zoo.config.schema import TfdsData

MANUAL_DIR_ENV = "ZOO_TFDS_MANUAL_DIR"


def _builder(config: TfdsData):
    import tensorflow_datasets as tfds

    import zoo.data.datasets  # noqa: F401  Registers zoo's own TFDS builders (moving_shapes).

    try:
        return tfds.builder(config.name, data_dir=config.data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise DataError(
            f"TFDS has no dataset {config.name!r} (recipe field data.name)."
            + did_you_mean(config.name, tfds.list_builders())
            + " `tfds.list_builders()` lists them all."
        ) from None


def _expected_files(builder) -> list[tuple[str, int]]:
    """(file name, size in bytes) of each raw file the builder would download."""
    try:
        infos = builder.url_infos or {}
    except Exception:  # Builders without a checksums file.
        return []
    return sorted((info.filename, int(info.size)) for info in infos.values() if info.filename)


def _version(builder) -> list:
    """The prepared data's identity for caches: full name, folder, and each prepared
    file's size and mtime (re-prepared data is other data)."""
    folder = Path(builder.data_dir)
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
    return [builder.info.full_name, str(folder), stats]


def _decoded_bytes(feature, examples: int, split_info) -> int | None:
    """A split's decoded size for `data.cache: auto`: exact for fixed-shape inputs, else
    4× its stored bytes (decoded images and clips are larger than their encodings)."""
    import numpy as np

    shape = tuple(getattr(feature, "shape", ()) or ())
    try:
        dtype = np.dtype(feature.np_dtype)
    except TypeError:
        dtype = np.dtype(object)
    fixed = dtype.kind not in "OSU" and all(isinstance(d, int) and d > 0 for d in shape)
    if examples > 0 and fixed:
        return examples * (int(np.prod(shape, dtype=np.int64)) * dtype.itemsize + 8)
    stored = int(getattr(split_info, "num_bytes", 0) or 0)
    return stored * 4 if stored else None


def _describe(files: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} ({size:,} bytes)" for name, size in files)


def prepare(config: TfdsData):
    """The TFDS builder for `config`, prepared (from the manual dir when one is set)."""
    import tensorflow_datasets as tfds

    if not sys.stderr.isatty():  # Redrawn bars would fill a log file with escape codes.
        tfds.disable_progress_bar()

    builder = _builder(config)
    if builder.is_prepared():
        return builder
    manual_dir = config.manual_dir or settings.tfds_manual_dir() or None
    expected = _expected_files(builder)
    where = builder.data_dir
    if manual_dir:
        missing = [(n, s) for n, s in expected if not (Path(manual_dir) / n).is_file()]
        if missing:
            raise DataError(
                f"Dataset {config.name!r} is not prepared in {where} and the manual directory "
                f"{manual_dir} (from data.manual_dir or {MANUAL_DIR_ENV}) lacks "
                f"{_describe(missing)}. Put the original files there, or unset the manual "
                "directory to let TFDS download them."
            )
    download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    try:
        builder.download_and_prepare(download_config=download_config)
    except Exception as exc:  # Network errors come in many types; all mean the same here.
        files = f": {_describe(expected)}" if expected else ""
        raise DataError(
            f"Dataset {config.name!r} is not prepared in {where} and could not be downloaded "
            f"({type(exc).__name__}: {str(exc)[:200]}). Offline, put the original files"
            f"{files} into a folder and name it in data.manual_dir or {MANUAL_DIR_ENV}."
        ) from None
    return builder


def ensure_ready(config: TfdsData) -> str:
    """Prepare the dataset if needed; says whether it was already there."""
    if _builder(config).is_prepared():
        return "already prepared"
    return f"prepared now in {prepare(config).data_dir}"


def load(config: TfdsData, *, batch_size: int, seed: int) -> DataBundle:
    import tensorflow as tf
    import tensorflow_datasets as tfds

    builder = prepare(config)
    features = builder.info.features
    keys = config.features or builder.info.supervised_keys
    if not keys or len(keys) != 2 or not all(isinstance(k, str) for k in keys):
        raise DataError(
            f"Dataset {config.name!r} has no (input, label) supervised keys; name them in "
            f"data.features, e.g. [image, label]. Its features: {', '.join(features.keys())}."
        )
    input_key, label_key = keys
    for key, field in ((input_key, "input"), (label_key, "label")):
        if key not in features:
            raise DataError(
                f"Dataset {config.name!r} has no feature {key!r} (data.features {field})."
                f"{did_you_mean(key, features.keys())} Its features: {', '.join(features.keys())}."
            )

    splits = {
        "train": config.splits.train,
        "validation": config.splits.validation,
        "test": config.splits.test,
    }
    raw_shape = tuple(features[input_key].shape)
    video = None
    if config.video is not None:
        from zoo.data.preprocessing.video import plan

        video = plan(config.video, raw_shape, seed=seed)
    pipelines: dict[str, tf.data.Dataset | None] = {}
    sizes: dict[str, int] = {}
    raw: dict[str, tf.data.Dataset] = {}  # In file order, for the data check's sample.
    version = _version(builder)
    for role, expression in splits.items():
        if expression is None:
            pipelines[role] = None
            continue
        known = bool(builder.info.splits)  # False only without metadata (mock data).
        try:
            sizes[role] = builder.info.splits[expression].num_examples if known else -1
        except (KeyError, ValueError) as exc:
            raise DataError(
                f"data.splits.{role} {expression!r} is not a split of {config.name!r} "
                f"({exc}). Its splits: {', '.join(builder.info.splits.keys())}."
            ) from None
        ds = builder.as_dataset(
            split=expression,
            shuffle_files=role == "train",
            read_config=tfds.ReadConfig(shuffle_seed=seed),
        )
        if not known:  # TFDS knows no split sizes (tfds.testing.mock_data): count them.
            sizes[role] = int(ds.reduce(0, _count))
        if sizes[role] == 0:
            raise DataError(f"data.splits.{role} {expression!r} of {config.name!r} is empty.")

        def pick(ex: Any) -> Any:  # A def, not a lambda: AutoGraph reads its source.
            return ex[input_key], ex[label_key]

        if config.check:
            plain = tfds.ReadConfig(try_autocache=False)  # A partial read must not cache.
            raw[role] = builder.as_dataset(
                split=expression, shuffle_files=False, read_config=plain
            ).map(pick)
        ds = ds.map(pick, num_parallel_calls=tf.data.AUTOTUNE)
        split_info = builder.info.splits[expression] if known else None
        pipelines[role] = finish_split(
            ds,
            config,
            role,
            batch_size=batch_size,
            seed=seed,
            video=video,
            size_bytes=_decoded_bytes(features[input_key], sizes[role], split_info),
            version=version,
        )

    label = features[label_key]
    names = tuple(getattr(label, "names", ()) or ())
    info = DataInfo(
        input_name=input_key,
        input_shape=video.served_shape if video else tuple(int(d) for d in raw_shape),
        input_dtype=str(tf.as_dtype(features[input_key].np_dtype).name),
        num_classes=getattr(label, "num_classes", None),
        class_names=names,
        num_examples=sizes,
        model_inputs={"input_shape": video.model_shape} if video else {},
    )
    preprocessor = video.preprocessor if video else None
    # train/validation/test
    return DataBundle(info=info, preprocessor=preprocessor, raw=raw, version=version, **pipelines)


def _count(n: Any, _example: Any) -> Any:
    return n + 1
