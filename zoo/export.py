"""Write a trained model as `.keras` and as a SavedModel that takes the raw input.

Both are written under a temporary name and renamed into place, so a crash never
leaves a half-written artifact that looks complete.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

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
