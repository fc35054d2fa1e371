"""Find and load a saved model: a run directory, a `.keras` file or a SavedModel folder.

`zoo.cli.evaluate` and `zoo.cli.predict` both start here, so both accept the same paths and fail
the same clear way (a `ZooError`) on a missing or corrupted artifact. `.keras` files are
loaded only through `load_keras_model`, with Keras's safe mode left on (the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.exporting.formats.base import OUTPUT_NAME, SIGNATURE
from zoo.runs import layout


@dataclass(frozen=True)
class Loaded:
    """A loaded model as one callable from a raw input batch to probabilities."""

    path: Path
    kind: str  # "keras", "saved_model", "tflite" or "onnx"
    predict: Any  # Callable[[np.ndarray], np.ndarray]
    input_name: str | None = None
    input_dtype: str | None = None
    input_shape: tuple[int | None, ...] = ()  # One example, without the batch axis.
    # Class names read through a verified path (zoo/usecases/model_source.py); when set,
    # they are the only ones used ("0", "1", ... when their count differs).
    names: tuple[str, ...] | None = None

    @property
    def run_dir(self) -> Path | None:
        """The run (or preset) folder the artifact lies in, when it has a recipe.yaml: the
        artifact's folder, or the one above (`onnx/model.onnx`, `saved_model/`)."""
        for parent in (self.path.parent, self.path.parent.parent):
            if (parent / layout.RECIPE).is_file():
                return parent
        return None

    def class_names(self, num_classes: int) -> list[str]:
        """The run's class names (classes.json, else its metrics.json report), else
        "0", "1", ..."""
        import json

        if self.names is not None:
            if len(self.names) == num_classes:
                return list(self.names)
            return [str(c) for c in range(num_classes)]

        classes = self.run_dir / layout.CLASSES if self.run_dir else None
        if classes is not None and classes.is_file():
            try:
                data = json.loads(classes.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ZooError(
                    f"{classes} is not readable JSON ({exc}); restore it from the run or "
                    "delete it to show class indices."
                ) from None
            names = data.get("class_names") if isinstance(data, dict) else None
            if not isinstance(names, list) or not all(isinstance(n, str | int) for n in names):
                raise ZooError(
                    f'{classes} should hold {{"class_names": ["a", "b", ...]}}; '
                    "restore it from the run or delete it to show class indices."
                )
            if len(names) == num_classes:
                return [str(n) for n in names]
        if self.run_dir and (self.run_dir / layout.METRICS).is_file():
            try:
                reports = json.loads((self.run_dir / layout.METRICS).read_text()).get("report", {})
            except (OSError, ValueError, AttributeError):
                reports = {}
            for split_report in reports.values() if isinstance(reports, dict) else ():
                names = split_report.get("class_names") if isinstance(split_report, dict) else None
                if isinstance(names, list) and len(names) == num_classes:
                    return [str(n) for n in names]
        return [str(c) for c in range(num_classes)]


def locate(path: str | Path) -> tuple[Path, str]:
    """(artifact, kind) for a run directory (model.keras first), a .keras or SavedModel."""
    p = Path(path)
    if not p.exists():
        raise ZooError(f"No model at {p}: give a run directory, a .keras file or a SavedModel.")
    if p.is_dir() and (p / "saved_model.pb").is_file():
        return p, "saved_model"
    if p.is_dir():
        for name, kind in (
            (layout.MODEL, "keras"),
            (layout.SAVED_MODEL, "saved_model"),
            (layout.litert_file(None), "tflite"),
            (f"{layout.ONNX_DIR}/{layout.ONNX_MODEL}", "onnx"),
            (layout.ONNX_MODEL, "onnx"),
        ):
            if (p / name).exists():
                return p / name, kind
        raise ZooError(
            f"{p} holds no model.keras, saved_model/, model.tflite, onnx/model.onnx or "
            "saved_model.pb; is it a run directory or a preset?"
        )
    if p.suffix in (".keras", ".tflite", ".onnx"):
        return p, p.suffix[1:]
    raise ZooError(f"{p} is not a .keras, .onnx or .tflite file, nor a SavedModel directory.")


def _unusable(kind: str, artifact: Path, exc: Exception) -> ZooError:
    return ZooError(
        f"Cannot load the {kind} model at {artifact}: {type(exc).__name__}: "
        f"{(str(exc).splitlines() or ['no detail'])[0].rstrip('.')}. Is the file complete?"
    )


def load_keras_model(artifact: Path) -> Any:
    """A `.keras` file as a `keras.Model`, safe mode on; a corrupted file is a ZooError."""
    import keras

    import zoo.models.layers  # noqa: F401  Registers zoo's own layers before loading.

    try:
        return keras.saving.load_model(artifact)  # safe_mode stays on.
    except Exception as exc:  # Any load failure means an unusable file.
        raise _unusable("keras", artifact, exc) from None


def load(path: str | Path) -> Loaded:
    """Load the model at `path` (see `locate`); a corrupted file is a ZooError."""
    artifact, kind = locate(path)
    try:
        if kind == "keras":
            from zoo.evaluation.scoring import predictor

            model = load_keras_model(artifact)
            inp = model.inputs[0]
            shape = tuple(inp.shape[1:])
            return Loaded(artifact, kind, predictor(model), inp.name, str(inp.dtype), shape)
        import tensorflow as tf

        if kind == "tflite":
            return _load_tflite(artifact)
        if kind == "onnx":
            return _load_onnx(artifact)
        serve = tf.saved_model.load(str(artifact)).signatures[SIGNATURE]
    except ZooError:
        raise
    except Exception as exc:  # Any load failure means an unusable file.
        raise _unusable(kind, artifact, exc) from None
    (name, spec), *_ = serve.structured_input_signature[1].items()
    return Loaded(
        artifact,
        kind,
        lambda x: serve(**{name: tf.constant(x, dtype=spec.dtype)})[OUTPUT_NAME].numpy(),
        name,
        spec.dtype.name,
        tuple(spec.shape[1:]),
    )


def _load_tflite(path: Path) -> Loaded:
    """A `.tflite` file through the ai-edge-litert interpreter (not tf.lite's)."""
    from zoo.exporting.formats.litert import load_interpreter

    predict, name, dtype, shape = load_interpreter(path)
    return Loaded(path, "tflite", predict, name, dtype, shape)


# ONNX Runtime's input types, as numpy dtypes (raw-input models take uint8 or float).
_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
}


def _load_onnx(path: Path) -> Loaded:
    """A `.onnx` file through ONNX Runtime (the `onnx` extra), on the CPU."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ZooError(
            f"{path} is an ONNX model; reading it needs ONNX Runtime: "
            "pip install 'keras-recipe-zoo[onnx]'."
        ) from None
    import numpy as np

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    dtype = _ONNX_TYPES.get(inp.type)
    shape = tuple(d if isinstance(d, int) else None for d in inp.shape[1:])

    def predict(x: Any) -> Any:
        return session.run(None, {inp.name: np.asarray(x, dtype or None)})[0]

    return Loaded(path, "onnx", predict, inp.name, dtype, shape)
