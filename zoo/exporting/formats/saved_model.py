"""SavedModel whose `serving_default` takes a batch of raw examples named after the data's
input feature (e.g. `image`, uint8) and returns `probabilities`.

Its check (zoo/exporting/verify.py) calls the `serving_default` signature on raw inputs in
a fresh process, as a server would; `saved_model_cli show` names that signature too
(tests/test_export.py runs it on a real export).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.exporting.formats.base import OUTPUT_NAME, SIGNATURE, Context, Format, register, replace
from zoo.runs import layout

if TYPE_CHECKING:
    import keras


class SavedModelFormat(Format):
    name = "saved_model"
    title = "SavedModel"
    plan_order = 20

    def target(self, variant: str | None = None) -> str:
        return layout.SAVED_MODEL

    def tolerance(self, variant: str | None = None) -> float:
        return 1e-5

    def write(
        self, model: keras.Model, path: Path, ctx: Context, variant: str | None = None
    ) -> Path:
        import keras
        import tensorflow as tf

        info = ctx.info
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
        replace(tmp, path)
        return path

    def load(self, path: Path) -> Any:
        from zoo.exporting.artifacts import load

        return load(path).predict


SAVED_MODEL = register(SavedModelFormat())
