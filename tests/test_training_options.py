"""training.jit_compile / steps_per_execution / mixed_precision reach the compiled model."""

import keras
import numpy as np
import pytest

from tests.conftest import SMALL_MNIST
from zoo import load_recipe, train_recipe
from zoo.config.loading import RecipeError

pytestmark = pytest.mark.slow


@pytest.fixture
def fitted_models(monkeypatch):
    """Every model the trainer fits during the test, caught at `fit`."""
    seen = []
    original = keras.Model.fit

    def spy(self, *args, **kwargs):
        seen.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    return seen


def _train(tmp_path, *overrides):
    recipe = load_recipe(
        "recipes/mnist_cnn.yaml",
        [*SMALL_MNIST, "training.epochs=1", "training.steps_per_epoch=8", *overrides],
    )
    return train_recipe(recipe, output_dir=tmp_path, verbose=0)


def test_defaults_leave_keras_choices(mnist_ready, tmp_path, fitted_models):
    _train(tmp_path, "export.saved_model=false")
    (model,) = fitted_models
    assert model.steps_per_execution == 1
    assert model.dtype_policy.name == "float32"


def test_bfloat16_steps_per_execution_and_no_jit(mnist_ready, tmp_path, fitted_models):
    result = _train(
        tmp_path,
        "training.mixed_precision=mixed_bfloat16",
        "training.steps_per_execution=4",
        "training.jit_compile=false",
    )
    (model,) = fitted_models
    assert model.jit_compile is False
    assert model.steps_per_execution == 4
    assert model.dtype_policy.name == "mixed_bfloat16"
    conv = model.get_layer("conv_1")
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    # The softmax stays float32, so probabilities, metrics and exports are full precision.
    assert model.get_layer("predictions").compute_dtype == "float32"
    probs = model.predict(np.zeros((2, 28, 28, 1), np.uint8), verbose=0)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert result.metrics["export"]["saved_model"]["ok"] is True
    # The global policy is restored: models built later are plain float32 again.
    assert keras.mixed_precision.global_policy().name == "float32"


def test_float16_gets_loss_scaling_and_jit(mnist_ready, tmp_path, fitted_models):
    result = _train(
        tmp_path,
        "training.mixed_precision=mixed_float16",
        "training.jit_compile=true",
        "export.saved_model=false",
    )
    (model,) = fitted_models
    assert model.jit_compile is True
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert np.isfinite(result.history["loss"][0])


@pytest.mark.parametrize(
    "override, field",
    [
        ("training.steps_per_execution=0", "training.steps_per_execution"),
        ("training.mixed_precision=float8", "training.mixed_precision"),
        ("training.jit_compile=sometimes", "training.jit_compile"),
    ],
)
def test_bad_speed_options_are_recipe_errors(override, field):
    with pytest.raises(RecipeError, match=field.replace(".", r"\.")):
        load_recipe("recipes/mnist_cnn.yaml", [override])
