"""LiteRT (`.tflite`), converted from the SavedModel in a child process and run by the
`ai-edge-litert` interpreter.

The tf.lite converter leaks memory on every call (TensorFlow 2.20/2.21), so conversion
runs in a child process (`python -m zoo.exporting.formats.litert`, see `main`) and the
leak dies with it. All the quantisations asked of one model are converted from one
SavedModel in one child (`write_variants`): importing TensorFlow takes seconds, and paying
it once per quantisation was most of an export's time.

Quantisations: `none` (float32, checked elementwise), `float16`, `dynamic_int8` and `int8`
(full integer, calibrated on a representative sample of raw training inputs); quantised
files are checked by test accuracy, not elementwise.
"""

from __future__ import annotations

import json
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
    written,
)
from zoo.runs import layout

if TYPE_CHECKING:
    from collections.abc import Sequence

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
        return written(self.write_variants(model, [(variant, path)], ctx)[variant])

    def write_variants(
        self, model: keras.Model, targets: Sequence[tuple[str | None, Path]], ctx: Context
    ) -> dict[str | None, Path | Exception]:
        """Every quantisation of `targets` from one SavedModel, converted in one child
        process: the TensorFlow import (seconds) and the SavedModel are paid once per
        model, not once per quantisation. The child reports each conversion's failure
        on its own, so one quantisation the converter refuses leaves the others written."""
        outcomes: dict[str | None, Path | Exception] = {}
        todo: list[tuple[str | None, str, Path]] = []
        for variant, path in targets:
            quantize = variant or "none"
            if quantize not in QUANTIZATIONS:
                outcomes[variant] = ZooError(
                    f"Unknown LiteRT quantisation {quantize!r}; choose one of "
                    f"{', '.join(QUANTIZATIONS)}."
                )
            elif quantize == "int8" and ctx.representative is None:
                outcomes[variant] = ZooError(
                    "LiteRT int8 quantisation needs a representative sample from the "
                    "training split, and none was given."
                )
            else:
                todo.append((variant, quantize, path))
        if todo:
            outcomes.update(_convert_in_child(model, todo, ctx))
        return {variant: outcomes[variant] for variant, _ in targets}

    def load(self, path: Path) -> Any:
        return load_interpreter(path)[0]


def _convert_in_child(
    model: keras.Model, todo: Sequence[tuple[str | None, str, Path]], ctx: Context
) -> dict[str | None, Path | Exception]:
    """Write `model` as a SavedModel in a temporary folder beside the first artifact,
    convert it once per (variant, quantisation, path) of `todo` in one child process, and
    move each converted file into place (temp name, then rename)."""
    from zoo.exporting.formats.saved_model import SAVED_MODEL

    outcomes: dict[str | None, Path | Exception] = {}
    with tempfile.TemporaryDirectory(prefix=".litert-src-", dir=todo[0][2].parent) as src:
        saved = SAVED_MODEL.write(model, Path(src) / layout.SAVED_MODEL, ctx)
        sample = ""
        if any(quantize == "int8" for _, quantize, _ in todo):
            import numpy as np

            assert ctx.representative is not None  # write_variants refused it otherwise.
            sample = str(Path(src) / "sample.npy")
            np.save(sample, ctx.representative())
        report = Path(src) / "report.json"
        jobs = [(quantize, path.with_name(f".{path.name}.tmp")) for _, quantize, path in todo]
        child = subprocess.run(
            [sys.executable, "-m", __name__, str(saved), str(report), sample]
            + [f"{quantize}={tmp}" for quantize, tmp in jobs],
            capture_output=True,
            text=True,
            timeout=900 * len(jobs),
        )
        # {temp path: None when converted, else the converter's error}; written after each
        # conversion, so a child that dies keeps what it had done.
        done = json.loads(report.read_text()) if report.is_file() else {}
        for (variant, quantize, path), (_, tmp) in zip(todo, jobs, strict=True):
            error = done.get(str(tmp), "")
            if error is None and tmp.is_file():
                try:
                    replace(tmp, path)
                    outcomes[variant] = path
                except OSError as exc:
                    outcomes[variant] = exc
                continue
            tmp.unlink(missing_ok=True)
            how = "" if error else f" (exit {child.returncode})"
            outcomes[variant] = ZooError(
                f"LiteRT conversion ({quantize}) of {model.name} failed in its child "
                f"process{how}: {_reason(error or child.stderr)}. Drop this quantisation "
                "from export.litert, or export saved_model/onnx instead."
            )
    return outcomes


def _reason(stderr: str) -> str:
    """The converter's own reason: the ops LiteRT cannot express, else its last line (of
    the child's stderr, or of the error the child reported for one conversion)."""
    import re

    ops = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", stderr)))
    if ops:
        return f"LiteRT's built-in ops cannot express {', '.join(ops)} (used by the model)"
    return (stderr.strip().splitlines() or ["no output"])[-1].rstrip(".")


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


def _convert(saved: str, out: str, quantize: str, sample: str | None = None) -> None:
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


def main(saved: str, report: str, sample: str, *jobs: str) -> int:
    """The child, `SAVED_MODEL REPORT.json SAMPLE.npy|"" QUANTIZE=OUT...` (what
    `LiteRTFormat.write_variants` runs): the quantisations of one SavedModel in turn; each
    conversion's failure is caught and recorded in `report` ({OUT: None or the error,
    which names the ops the converter could not express}), so the others still run."""
    done: dict[str, str | None] = {}
    for job in jobs:
        quantize, out = job.split("=", 1)
        try:
            _convert(saved, out, quantize, sample or None)
            done[out] = None
        except Exception as exc:  # The converter's own error types; each is reported.
            done[out] = f"{type(exc).__name__}: {exc}".strip()
            print(f"LiteRT conversion ({quantize}) failed: {done[out]}", file=sys.stderr)
        Path(report).write_text(json.dumps(done))
    return 0


LITERT = register(LiteRTFormat())

if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
