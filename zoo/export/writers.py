"""Write a trained model as `.keras`, a SavedModel and a TFLite file taking the raw input.

`zoo.cli.export` re-exports a finished run with these writers. Artifacts are written
under a temporary name and renamed into place, so a crash never leaves a half-written
artifact that looks complete.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from zoo.data import DataInfo

SIGNATURE = "serving_default"
OUTPUT_NAME = "probabilities"


def _replace(tmp: Path, final: Path) -> None:
    if final.is_dir():
        shutil.rmtree(final)
    elif final.exists():
        final.unlink()
    tmp.rename(final)


def with_preprocessor(model: keras.Model, preprocessor: Any, info: DataInfo) -> keras.Model:
    """`model` with the data's preprocessor in front, taking one raw input named after
    the data's input feature; `model` itself when there is no preprocessor."""
    if preprocessor is None:
        return model
    import keras

    raw = keras.Input(shape=info.input_shape, dtype=info.input_dtype, name=info.input_name)
    return keras.Model(raw, model(preprocessor(raw)), name=f"{model.name}_raw_input")


def save_keras(model: keras.Model, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    _replace(tmp, path)
    return path


def save_saved_model(model: keras.Model, path: Path, info: DataInfo) -> Path:
    """SavedModel whose `serving_default` takes a batch of raw examples named after the
    dataset's input feature (e.g. `image`, uint8) and returns `probabilities`."""
    import keras
    import tensorflow as tf

    spec = tf.TensorSpec(
        (None, *info.input_shape), tf.as_dtype(info.input_dtype), name=info.input_name
    )
    model_dtype = model.inputs[0].dtype

    def serve(raw):
        return {OUTPUT_NAME: model(tf.cast(raw, model_dtype), training=False)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, serve, input_signature=[spec])
    tmp = Path(tempfile.mkdtemp(prefix=".saved_model.tmp-", dir=path.parent))
    shutil.rmtree(tmp)
    archive.write_out(str(tmp), verbose=False)
    _replace(tmp, path)
    return path


def save_tflite(model: keras.Model, path: Path, info: DataInfo) -> Path:
    """`model.tflite` converted from the same raw-input serving signature as the
    SavedModel (float32 weights, no quantisation, so it matches the model closely)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix=".tflite-src-", dir=path.parent) as src:
        saved = save_saved_model(model, Path(src) / "saved_model", info)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=[SIGNATURE])
        flatbuffer = converter.convert()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(flatbuffer)
    _replace(tmp, path)
    return path
