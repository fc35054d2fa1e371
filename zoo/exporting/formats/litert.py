"""LiteRT (`.tflite`), converted from the SavedModel in a child process and run by the
`ai-edge-litert` interpreter.

The tf.lite converter leaks memory on every call (TensorFlow 2.20/2.21), so conversion
runs as `python -m zoo.exporting.formats.litert SAVED_MODEL OUT QUANTIZE [SAMPLE.npy]` and
the leak dies with that process. Quantisations: `none` (float32, checked elementwise),
`float16`, `dynamic_int8` and `int8` (full integer, calibrated on a representative sample
of raw training inputs); quantised files are checked by test accuracy, not elementwise.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError
from zoo.exporting.formats.base import (
    OUTPUT_NAME,
    SIGNATURE,
    Context,
    Format,
    Unconvertible,
    antialiased_resize,
    register,
    replace,
)
from zoo.runs import layout

if TYPE_CHECKING:
    import keras

QUANTIZATIONS = ("none", "float16", "dynamic_int8", "int8")


class LiteRTFormat(Format):
    name = "litert"
    title = "LiteRT"
    plan_order = 40
    # Found by converting every builder (tests/test_export_matrix.py), in every
    # quantisation; zoo converts to built-in ops only (no Flex delegate, no TF ops).
    unconvertible = (
        *(
            Unconvertible(
                layer,
                op,
                f"LiteRT's built-in ops have no 3D {kind} pooling",
                "choose a model that downsamples clips with strided convolutions "
                "(video_r2plus1d), or export saved_model/onnx",
            )
            for layer, op, kind in (
                ("MaxPooling3D", "tf.MaxPool3D", "max"),
                ("AveragePooling3D", "tf.AvgPool3D", "average"),
            )
        ),
        # LSTM, GRU and SimpleRNN (alone or in Bidirectional) run a while loop over a
        # TensorList, which the converter fails to lower to built-in ops ("Lowering
        # tensor list ops is failed"), masked or not, whatever the pooling.
        Unconvertible(
            "RNN",
            "TensorList ops (the recurrent loop)",
            "the converter cannot lower a Keras recurrent layer's loop to LiteRT's built-in ops",
            "choose a model without recurrent layers (text_transformer, text_bow), or "
            "export saved_model/onnx",
        ),
        antialiased_resize("LiteRT's built-in ops have no ScaleAndTranslate"),
        # A raw-text model's vectoriser (refused at load time too: zoo/config/rules.py).
        Unconvertible(
            "TextVectorization",
            "tf.StringSplitV2 (string ops)",
            "LiteRT's built-in ops have no string ops",
            "export onnx (the token-id model, with its vocabulary)",
        ),
    )

    def planned(self, export: Any) -> list[str | None]:
        return list(export.litert_quantizations())  # `tflite: true` included (an alias).

    extra = "litert"
    modules = ("ai_edge_litert",)
    variants = QUANTIZATIONS

    def target(self, variant: str | None = None) -> str:
        return layout.litert_file(variant)

    def tolerance(self, variant: str | None = None) -> float | None:
        return 1e-4 if variant in (None, "none") else None

    def write(
        self, model: keras.Model, path: Path, ctx: Context, variant: str | None = None
    ) -> Path:
        from zoo.exporting.formats.saved_model import SAVED_MODEL

        quantize = variant or "none"
        if quantize not in QUANTIZATIONS:
            raise ZooError(
                f"Unknown LiteRT quantisation {quantize!r}; choose one of "
                f"{', '.join(QUANTIZATIONS)}."
            )
        with tempfile.TemporaryDirectory(prefix=".litert-src-", dir=path.parent) as src:
            saved = SAVED_MODEL.write(model, Path(src) / layout.SAVED_MODEL, ctx)
            extra: list[str] = []
            if quantize == "int8":
                if ctx.representative is None:
                    raise ZooError(
                        "LiteRT int8 quantisation needs a representative sample from the "
                        "training split, and none was given."
                    )
                import numpy as np

                np.save(Path(src) / "sample.npy", ctx.representative())
                extra = [str(Path(src) / "sample.npy")]
            tmp = path.with_name(f".{path.name}.tmp")
            child = subprocess.run(
                [sys.executable, "-m", __name__, str(saved), str(tmp), quantize, *extra],
                capture_output=True,
                text=True,
                timeout=900,
            )
            if child.returncode != 0 or not tmp.is_file():
                tmp.unlink(missing_ok=True)
                last = _reason(child.stderr)
                raise ZooError(
                    f"LiteRT conversion ({quantize}) of {model.name} failed in its child "
                    f"process (exit {child.returncode}): {last}. Drop this quantisation from "
                    "export.litert, or export saved_model/onnx instead."
                )
        replace(tmp, path)
        return path

    def load(self, path: Path) -> Any:
        return load_interpreter(path)[0]


def _reason(stderr: str) -> str:
    """The converter's own reason: the ops LiteRT cannot express, else its last line."""
    import re

    ops = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", stderr)))
    if ops:
        return f"LiteRT's built-in ops cannot express {', '.join(ops)} (used by the model)"
    return (stderr.strip().splitlines() or ["no output"])[-1]


def load_interpreter(path: Path) -> tuple[Any, str, str, tuple[int, ...]]:
    """(predict, input name, input dtype, example shape) for a `.tflite` file, run by the
    ai-edge-litert interpreter."""
    import numpy as np

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ZooError(
            "Running a .tflite model needs ai-edge-litert, which is not installed; install "
            "it with: pip install 'keras-recipe-zoo[litert]'"
        ) from None
    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner(SIGNATURE)
    (name, detail), *_ = runner.get_input_details().items()

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(runner(**{name: np.asarray(x, detail["dtype"])})[OUTPUT_NAME])

    shape = tuple(int(d) for d in detail["shape_signature"][1:])
    return predict, name, np.dtype(detail["dtype"]).name, shape


def _convert(saved: str, out: str, quantize: str, sample: str | None = None) -> int:
    """The child: convert `saved`'s serving signature with `quantize`, write `out`."""
    import numpy as np
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=[SIGNATURE])
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        examples = np.load(sample, allow_pickle=False)

        def representative():
            for i in range(len(examples)):
                yield [examples[i : i + 1]]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    Path(out).write_bytes(converter.convert())
    return 0


LITERT = register(LiteRTFormat())

if __name__ == "__main__":
    sys.exit(_convert(*sys.argv[1:]))
