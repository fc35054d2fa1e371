"""Every registered builder held to the same bar, parametrised over `list_models()` so a
new builder cannot land untested: it builds with its defaults and with the parameters
the trainer derives from data, takes training steps with finite, falling loss, and
survives a `.keras` save/load round trip with identical predictions.

Each builder needs an entry in SMALL (tiny inputs and widths, so the fast tier stays
quick); a builder without one fails `test_every_builder_has_a_small_configuration`.
Heavier variants (other keras.applications families) are in the slow tier.
"""

from __future__ import annotations

import math
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from zoo import build_model, list_models
from zoo.models.registry import with_data_params


@dataclass(frozen=True)
class Small:
    """What the trainer would hand a builder for a tiny dataset, plus small widths."""

    data: dict[str, Any]  # input_shape / num_classes / vocabulary_size / sequence_length
    params: dict[str, Any] = field(default_factory=dict)
    inputs: str = "float"  # float (0-255 pixels or features) | tokens


IMAGE = {"input_shape": (16, 16, 3), "num_classes": 3}
CLIP = {"input_shape": (6, 16, 16, 1), "num_classes": 3}
TOKENS = {"vocabulary_size": 30, "sequence_length": 10, "num_classes": 3}

SMALL: dict[str, Small] = {
    "mlp": Small(IMAGE, {"hidden_units": (8,), "dropout": 0.0}),
    "mnist_cnn": Small({"input_shape": (12, 12, 1), "num_classes": 3}),
    "cnn": Small(IMAGE, {"filters": (4, 8), "dense_units": 8, "dropout": 0.0}),
    "resnet": Small(IMAGE, {"depth": 8, "width": 4, "rescale": 1 / 255}),
    "resnet9": Small(IMAGE, {"widths": (4, 8, 8), "residual": (0, 2), "rescale": 1 / 255}),
    "keras_applications": Small(
        {"input_shape": (28, 28, 1), "num_classes": 3},
        {"architecture": "MobileNetV3Small", "image_size": (32, 32), "dropout": 0.0},
    ),
    "text_rnn": Small(TOKENS, {"units": (4,), "embedding_dim": 4, "dropout": 0.0}, "tokens"),
    "text_transformer": Small(
        TOKENS, {"embedding_dim": 8, "num_heads": 2, "feedforward_dim": 8, "dropout": 0.0}, "tokens"
    ),
    "text_bow": Small({"vocabulary_size": 40, "num_classes": 3}, {"dropout": 0.0}),
    "video_cnn": Small(CLIP, {"filters": (4, 8), "dropout": 0.0}),
    "video_r2plus1d": Small(CLIP, {"filters": (4, 8), "dropout": 0.0}),
    "frame_average_cnn": Small(CLIP, {"filters": (4,), "units": 4, "dropout": 0.0}),
}


def _build(name: str):
    small = SMALL[name]
    return build_model(name, **with_data_params(name, small.params, small.data))


def _batch(name: str, model, n: int = 8):
    """A fixed batch for `model`: token ids, or 0-255 values; labels cycle the classes."""
    rng = np.random.default_rng(0)
    shape = (n, *model.input_shape[1:])
    if SMALL[name].inputs == "tokens":
        x = rng.integers(1, SMALL[name].data["vocabulary_size"], shape)
    else:
        x = rng.uniform(0, 255, shape).astype("float32")
    return x, np.arange(n) % model.output_shape[-1]


def test_every_builder_has_a_small_configuration():
    missing = sorted(set(list_models()) - set(SMALL))
    assert not missing, f"add {missing} to SMALL in tests/test_families.py"


@pytest.mark.parametrize("name", list_models())
def test_builds_with_its_defaults(name):
    model = build_model(name)
    assert model.output_shape[-1] >= 2
    assert model.get_layer("predictions").dtype_policy.compute_dtype == "float32"


# Tracing MobileNetV3's training step takes over a minute on 2 shared cores.
HEAVY_STEP = {"keras_applications"}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY_STEP else n for n in list_models()],
)
def test_builds_from_data_parameters_and_trains_with_falling_loss(name):
    import keras

    keras.utils.set_random_seed(0)
    model = _build(name)
    small = SMALL[name]
    assert model.output_shape == (None, small.data["num_classes"])
    if "input_shape" in small.data:
        assert model.input_shape[1:] == small.data["input_shape"]
    x, y = _batch(name, model)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        jit_compile=False,  # XLA compiling takes longer than these few steps.
    )
    losses = [float(model.train_on_batch(x, y)) for _ in range(8)]
    assert all(math.isfinite(v) for v in losses), losses
    assert np.mean(losses[-3:]) < losses[0], losses  # It learns the batch.


@pytest.mark.parametrize("name", list_models())
def test_keras_round_trip_gives_identical_predictions(name, tmp_path):
    import keras

    model = _build(name)
    x, _ = _batch(name, model, n=4)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # Safe mode: zoo's layers are registered.
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


@pytest.mark.slow  # ImageNet-size families at 32×32: seconds each.
@pytest.mark.parametrize("architecture", ["ResNet50V2", "EfficientNetV2B0", "ConvNeXtTiny"])
def test_keras_applications_families_train_from_scratch(architecture):
    import keras

    model = build_model(
        "keras_applications", architecture=architecture, input_shape=(32, 32, 3), num_classes=3
    )
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert math.isfinite(float(model.train_on_batch(x, np.arange(4) % 3)))
    assert model.name == f"keras_applications_{architecture.lower()}"
    assert model.get_layer("preprocess").module in {"resnet_v2", "efficientnet_v2", "convnext"}
    assert keras.ops.convert_to_numpy(model(x)).shape == (4, 3)


def test_keras_applications_adapts_grey_and_small_images():
    model = _build("keras_applications")
    assert model.get_layer("grey_to_rgb").output.shape[1:] == (28, 28, 3)
    assert model.get_layer("resize").output.shape[1:] == (32, 32, 3)
    x = np.full((1, 28, 28, 1), 200.0, "float32")
    # MobileNetV3 normalises inside its own model: zoo's preprocessing passes pixels on.
    preprocess = model.get_layer("preprocess")
    np.testing.assert_allclose(np.asarray(preprocess(np.full((1, 4, 4, 3), 200.0))), 200.0)
    assert model.predict(x, verbose=0).shape == (1, 3)


def test_keras_applications_preprocessing_is_the_familys_own():
    from zoo.models.layers import ApplicationPreprocess

    pixels = np.array([[[[0.0, 127.5, 255.0]]]], "float32")
    tf_mode = ApplicationPreprocess("resnet_v2")(pixels)  # Scaled to [-1, 1].
    np.testing.assert_allclose(np.asarray(tf_mode), [[[[-1.0, 0.0, 1.0]]]], atol=1e-6)
    caffe = ApplicationPreprocess("resnet")(pixels)  # BGR, ImageNet means subtracted.
    np.testing.assert_allclose(
        np.asarray(caffe), [[[[255.0 - 103.939, 127.5 - 116.779, 0.0 - 123.68]]]], atol=1e-4
    )


def test_keras_applications_unknown_architecture_is_a_zoo_error():
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match=r"no architecture 'ResNet50v2'.*Did you mean 'ResNet50V2'"):
        build_model("keras_applications", architecture="ResNet50v2")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # Closed once the socket is: connections are refused.


def test_imagenet_weights_without_network_are_one_zoo_error(tmp_path):
    """A real refused connection (through a proxy port nothing listens on, in a fresh
    process with an empty Keras cache): one ZooError naming the file and the way out."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    code = (
        "from zoo import build_model\n"
        "from zoo.errors import ZooError\n"
        "try:\n"
        "    build_model('keras_applications', architecture='MobileNetV3Small',\n"
        "                backbone_weights='imagenet', input_shape=(32, 32, 3))\n"
        "except ZooError as exc:\n"
        "    print('ZOOERROR', exc)\n"
    )
    env = {
        "KERAS_HOME": str(tmp_path / "keras"),
        "https_proxy": proxy,
        "HTTPS_PROXY": proxy,
        "PATH": "/usr/bin:/bin",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("ZOOERROR"))
    assert "Cannot download the ImageNet weights of MobileNetV3Small" in line
    assert "Connection refused" in line and "weights_mobilenet_v3_small" in line
    assert "backbone_weights: null" in line


def test_the_jax_backend_check_covers_every_builder():
    """tools/check_jax_backend.py (run in a venv without TensorFlow) has a tiny
    configuration for every registered builder, so none escapes the JAX check."""
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("check_jax", REPO / "tools/check_jax_backend.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.SMALL) == set(list_models())
    # Its check of zoo's own layers and loss runs on the TensorFlow backend here too.
    assert module.check_zoo_classes().startswith("smoothed sparse loss")
