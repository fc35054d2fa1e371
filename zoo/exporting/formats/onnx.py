"""ONNX through Keras's own exporter (`model.export(format="onnx")`), run by ONNX Runtime.

The artifact is a folder, `onnx/`, holding `model.onnx`. ONNX has no string ops, so a
model whose raw input is text cannot be expressed whole: the folder then holds the part
after the text vectoriser (taking token ids), plus `vocabulary.txt` (line i is token id i)
and `preprocessing.json` describing the vectoriser, and the record says so. Nothing is
dropped silently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError
from zoo.exporting.formats.base import (
    Context,
    Format,
    Unconvertible,
    antialiased_resize,
    register,
    replace,
)
from zoo.fs import temp_dir
from zoo.runs import layout

if TYPE_CHECKING:
    import keras

MODEL_FILE = layout.ONNX_MODEL
VOCABULARY = layout.VOCABULARY
PREPROCESSING = "preprocessing.json"


class OnnxFormat(Format):
    name = "onnx"
    title = "ONNX"
    plan_order = 30
    extra = "onnx"
    modules = ("onnx", "onnxruntime", "tf2onnx")

    # Found by exporting every builder (tests/test_export_matrix.py).
    unconvertible = (
        # Exact GELU (Keras's default) computes erfc: tf2onnx writes a TF `Erfc` node into
        # the graph, which is no ONNX op, so ONNX Runtime refuses to load the file.
        Unconvertible(
            "Layer",
            "tf.Erfc",
            "the exact GELU activation becomes an Erfc node, which is no ONNX op (ONNX "
            "Runtime refuses the file)",
            "export saved_model/litert",
            when=lambda layer: _activation(layer) == "gelu",
        ),
        antialiased_resize("ScaleAndTranslate is no ONNX op (ONNX Runtime refuses the file)"),
        # Keras's TensorFlow backend runs a grouped convolution through an XLA-compiled
        # function (TF's CPU kernels lack it); tf2onnx leaves that call unconverted.
        Unconvertible(
            "BaseConv",
            "tf.StatefulPartitionedCall",
            "Keras runs a grouped convolution (groups > 1) as an XLA-compiled call, which "
            "the ONNX exporter leaves unconverted (ONNX Runtime refuses the file)",
            "export saved_model/litert",
            when=lambda layer: getattr(layer, "groups", 1) > 1,
        ),
        # Given or adapted, its mean and variance are captured tensors, which the exporter
        # turns into graph inputs: ONNX Runtime then asks for them with every batch.
        Unconvertible(
            "Normalization",
            "its mean and variance as graph inputs",
            "the ONNX exporter leaves a Normalization layer's mean and variance as extra "
            "graph inputs instead of constants, which ONNX Runtime then requires",
            "export saved_model/litert",
        ),
    )

    def target(self, variant: str | None = None) -> str:
        return layout.ONNX_DIR

    def servable(self, model: keras.Model) -> tuple[Any, Any, dict[str, Any]]:
        """A string-input model splits at its last sub-model that takes numbers."""
        import keras

        if model.inputs[0].dtype != "string":
            return None, model, {}
        inner = [
            layer
            for layer in model.layers
            if isinstance(layer, keras.Model) and layer.inputs[0].dtype != "string"
        ]
        front = [
            layer
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer) and layer not in inner
        ]
        if len(inner) != 1 or len(front) != 1:
            raise ZooError(
                f"Cannot export {model.name} to ONNX: its raw input is text, which ONNX "
                "cannot take, and it is not one preprocessor followed by one model, so zoo "
                "cannot export the part after the text vectoriser. Export saved_model or "
                "keras instead."
            )
        vectorizers = [
            sub
            for sub in front[0]._flatten_layers(include_self=True)
            if isinstance(sub, keras.layers.TextVectorization)
        ]
        notes = {
            "input": "token_ids",
            "note": (
                "ONNX cannot express the string preprocessing: model.onnx takes token ids "
                f"(int, shape {list(inner[0].inputs[0].shape)}); vectorise text with "
                f"{VOCABULARY} and {PREPROCESSING} beside it."
            ),
            "preprocessing_layers": [
                type(sub).__name__
                for sub in front[0]._flatten_layers(include_self=True)
                if not isinstance(sub, keras.Model | keras.layers.InputLayer)
            ],
            "vocabulary_size": len(vectorizers[0].get_vocabulary()) if vectorizers else None,
        }
        return front[0], inner[0], notes

    def write(
        self, model: keras.Model, path: Path, ctx: Context, variant: str | None = None
    ) -> Path:
        front, servable, notes = self.servable(model)
        tmp = temp_dir(".onnx.tmp-", path.parent)
        try:
            _call_once(servable)  # Keras's ONNX exporter refuses a model never called.
            _inference(servable).export(
                str(tmp / MODEL_FILE),
                format="onnx",
                verbose=False,
                input_signature=[_input_spec(servable)],
            )
            if front is not None:
                _write_text_assets(front, tmp, notes)
        except ZooError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        except Exception as exc:  # The exporter's own failure: say which model and why.
            shutil.rmtree(tmp, ignore_errors=True)
            raise ZooError(
                f"Keras's ONNX exporter could not convert {servable.name}: "
                f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}. Export "
                "saved_model or keras instead, or drop export.onnx from the recipe."
            ) from None
        replace(tmp, path)
        return path

    def load(self, path: Path) -> Any:
        import numpy as np
        import onnxruntime as ort

        model_file = path / MODEL_FILE if path.is_dir() else path
        session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
        inp = session.get_inputs()[0]
        dtype = {"tensor(float)": np.float32, "tensor(int64)": np.int64}.get(inp.type)

        def predict(x: np.ndarray) -> np.ndarray:
            x = np.asarray(x, dtype or x.dtype)
            return session.run(None, {inp.name: x})[0]

        return predict


def _activation(layer: Any) -> str | None:
    """The name of a layer's `activation` function (Dense, Conv, Activation), else None."""
    return getattr(getattr(layer, "activation", None), "__name__", None)


def _inference(model: keras.Model) -> keras.Model:
    """`model` called with `training=False`, for Keras's ONNX exporter.

    The exporter traces `model.__call__` with `training` unset, and a Keras image
    preprocessing layer (`Resizing`, whose `call` defaults to `training=True`) then sets
    the whole call to training mode: every BatchNormalization after it was exported with
    batch statistics (keras_applications with `image_size`, or any model with BN behind
    `data.image.resize`), and its ONNX file disagreed with the model (tests/
    test_export_matrix.py found it). Saying `training=False` fixes the mode for the
    whole call, as a server runs it."""
    import keras

    class Inference(keras.Model):
        def __init__(self, inner: keras.Model) -> None:
            super().__init__(name=inner.name)
            self.inner = inner

        def call(self, inputs: Any) -> Any:
            return self.inner(inputs, training=False)

    wrapper = Inference(model)
    _call_once(wrapper, model)
    return wrapper


def _input_spec(model: keras.Model) -> Any:
    """The exporter's input signature: the model's input, under the model's input name."""
    import tensorflow as tf

    spec = model.inputs[0]
    return tf.TensorSpec(spec.shape, spec.dtype, name=spec.name)


def _call_once(model: keras.Model, like: keras.Model | None = None) -> None:
    """Call `model` on a batch of zeros shaped as `like`'s (default: its own) input."""
    import numpy as np

    spec = (like or model).inputs[0]
    shape = [1 if d is None else d for d in spec.shape]
    model(np.zeros(shape, dtype=spec.dtype), training=False)


def _write_text_assets(front: Any, folder: Path, notes: dict[str, Any]) -> None:
    import keras

    vectorizers = [
        sub
        for sub in front._flatten_layers(include_self=True)
        if isinstance(sub, keras.layers.TextVectorization)
    ]
    if len(vectorizers) != 1:
        raise ZooError(
            "Cannot export the text model to ONNX: zoo ships the vocabulary of exactly one "
            f"TextVectorization layer, and the preprocessor has {len(vectorizers)}."
        )
    vocabulary = [str(t) for t in vectorizers[0].get_vocabulary()]
    (folder / VOCABULARY).write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    config = vectorizers[0].get_config()
    description = {
        **notes,
        "vocabulary_file": VOCABULARY,
        "vocabulary_format": "one token per line, split on '\\n'; line i is token id i "
        "(0 = padding, 1 = out-of-vocabulary)",
        "text_vectorization": {
            k: config.get(k)
            for k in ("standardize", "split", "max_tokens", "output_mode")
            if isinstance(config.get(k), str | int | type(None))
        }
        | {"output_sequence_length": config.get("output_sequence_length")},
    }
    (folder / PREPROCESSING).write_text(
        json.dumps(description, indent=2, default=str) + "\n", encoding="utf-8"
    )


ONNX = register(OnnxFormat())
