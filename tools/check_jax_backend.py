r"""Every registered builder builds and trains one step on the JAX backend, with no
TensorFlow installed.

zoo's builders are meant to be plain Keras 3 (any backend); only the data pipelines and
exports use TensorFlow. This checks it where it matters, in an environment without
TensorFlow at all:

    python3 -m venv /tmp/jaxvenv
    /tmp/jaxvenv/bin/pip install -c constraints/ci.txt jax keras pydantic pyyaml numpy \
        annotated-types
    /tmp/jaxvenv/bin/pip install --no-deps -e .
    /tmp/jaxvenv/bin/python tools/check_jax_backend.py

Each builder gets a tiny configuration (SMALL below; tests/test_families.py checks that
it names every registered builder), one `train_on_batch` with a finite loss and a
prediction of the right shape. Exit 0 when all pass, 1 naming the failures; it refuses
to run (exit 2) when TensorFlow is importable, since it would then prove nothing, or
when the backend is not JAX.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time
import traceback
from typing import Any

IMAGE = {"input_shape": (16, 16, 3), "num_classes": 3}
CLIP = {"input_shape": (6, 16, 16, 1), "num_classes": 3}
TOKENS = {"vocabulary_size": 30, "sequence_length": 10, "num_classes": 3}

# builder -> (parameters, kind of input: "float" 0-255 values or "tokens")
SMALL: dict[str, tuple[dict[str, Any], str]] = {
    "mlp": ({**IMAGE, "hidden_units": (8,)}, "float"),
    "mnist_cnn": ({"input_shape": (12, 12, 1), "num_classes": 3}, "float"),
    "cnn": ({**IMAGE, "filters": (4, 8), "dense_units": 8}, "float"),
    "resnet": ({**IMAGE, "depth": 8, "width": 4}, "float"),
    "resnet9": ({**IMAGE, "widths": (4, 8, 8), "residual": (0, 2)}, "float"),
    "keras_applications": (
        {"input_shape": (28, 28, 1), "num_classes": 3, "architecture": "MobileNetV3Small"}
        | {"image_size": (32, 32)},
        "float",
    ),
    "text_rnn": ({**TOKENS, "units": (4,), "embedding_dim": 4}, "tokens"),
    "text_transformer": ({**TOKENS, "embedding_dim": 8, "feedforward_dim": 8}, "tokens"),
    "text_bow": ({"vocabulary_size": 40, "num_classes": 3}, "float"),
    "video_cnn": ({**CLIP, "filters": (4, 8)}, "float"),
    "video_r2plus1d": ({**CLIP, "filters": (4, 8)}, "float"),
    "frame_average_cnn": ({**CLIP, "filters": (4,), "units": 4}, "float"),
}


def check(name: str) -> str:
    """One builder: build, one training step, one prediction. Returns a summary line."""
    import keras
    import numpy as np

    from zoo import build_model

    params, kind = SMALL[name]
    model = build_model(name, **params)
    rng = np.random.default_rng(0)
    shape = (4, *model.input_shape[1:])
    if kind == "tokens":
        x = rng.integers(1, params["vocabulary_size"], shape)
    else:
        x = rng.uniform(0, 255, shape).astype("float32")
    y = np.arange(4) % model.output_shape[-1]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    loss = float(model.train_on_batch(x, y))
    if not math.isfinite(loss):
        raise AssertionError(f"loss {loss}")
    out = keras.ops.convert_to_numpy(model(x))
    if out.shape != (4, model.output_shape[-1]):
        raise AssertionError(f"output shape {out.shape}")
    return f"{model.count_params():,} parameters, loss {loss:.4f}"


def check_zoo_classes() -> str:
    """zoo's own Keras classes a run's model may hold (zoo/models/layers.py, losses.py):
    the smoothed sparse loss against Keras's one-hot loss, the test-time Flip and Shift
    (images and clips) against numpy, and the head + tail KeepEnds against a by-hand cut."""
    import keras
    import numpy as np

    from zoo.models.layers import Flip, KeepEnds, Shift
    from zoo.models.losses import SparseCategoricalCrossentropy

    labels, probs = np.array([0, 2]), np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], "float32")
    ours = float(SparseCategoricalCrossentropy(label_smoothing=0.2)(labels, probs))
    theirs = float(
        keras.losses.CategoricalCrossentropy(label_smoothing=0.2)(np.eye(3)[labels], probs)
    )
    if abs(ours - theirs) > 1e-6:
        raise AssertionError(f"smoothed loss {ours} against Keras's {theirs}")
    x = np.arange(2 * 4 * 5, dtype="float32").reshape(2, 4, 5, 1)
    if not np.array_equal(keras.ops.convert_to_numpy(Flip("horizontal")(x)), x[:, :, ::-1]):
        raise AssertionError("Flip")
    moved = np.zeros_like(x)
    moved[:, 1:, 1:] = x[:, :-1, :-1]
    if not np.array_equal(keras.ops.convert_to_numpy(Shift(1)(x)), moved):
        raise AssertionError("Shift")
    clips = x.reshape(1, 2, 4, 5, 1)  # Two frames: each moved alike.
    if not np.array_equal(keras.ops.convert_to_numpy(Shift(1)(clips)), moved.reshape(clips.shape)):
        raise AssertionError("Shift on clips")
    tokens = np.array([list(range(1, 13)), [3, 4] + [0] * 10])
    cut = keras.ops.convert_to_numpy(KeepEnds(8, 2)(tokens)).tolist()
    if cut != [[1, 2, 7, 8, 9, 10, 11, 12], [3, 4, 0, 0, 0, 0, 0, 0]]:
        raise AssertionError(f"KeepEnds: {cut}")
    return "smoothed sparse loss, Flip, Shift (images and clips), KeepEnds"


def main() -> int:
    if importlib.util.find_spec("tensorflow") is not None:
        print("TensorFlow is installed here: run this in a venv without it (see --help).")
        return 2
    import keras

    from zoo import list_models

    if keras.backend.backend() != "jax":
        print(f"Keras backend is {keras.backend.backend()!r}, not 'jax' (KERAS_BACKEND).")
        return 2
    import jax

    print(f"keras {keras.__version__}, jax {jax.__version__}, backend {keras.backend.backend()}")
    failures = []
    names = list_models()
    missing = sorted(set(names) - set(SMALL))
    for name in missing:
        failures.append(name)
        print(f"FAIL {name}: no small configuration in tools/check_jax_backend.py")
    for name in (n for n in names if n in SMALL):
        start = time.perf_counter()
        try:
            summary = check(name)
        except Exception:
            failures.append(name)
            print(f"FAIL {name}:\n{traceback.format_exc()}")
            continue
        print(f"ok   {name}: {summary} ({time.perf_counter() - start:.1f} s)")
    try:
        print(f"ok   zoo classes: {check_zoo_classes()}")
    except Exception:
        failures.append("zoo classes")
        print(f"FAIL zoo classes:\n{traceback.format_exc()}")
    leaked = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))
    if leaked:
        failures.append("tensorflow imported")
        print(f"FAIL: TensorFlow modules were imported: {leaked[:5]}")
    passed = len([n for n in names if n not in failures])
    print(f"{passed} of {len(names)} builders pass on JAX without TensorFlow")
    return 1 if failures else 0


if __name__ == "__main__":
    if "--help" in sys.argv or "-h" in sys.argv:
        print(__doc__)
        sys.exit(0)
    os.environ.setdefault("KERAS_BACKEND", "jax")  # Here, not on import (tests import it).
    sys.exit(main())
