"""Label smoothing on integer labels: zoo's sparse cross-entropy (zoo/models/losses.py)."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.conftest import REPO, SMALL_MNIST
from zoo import load_recipe, train_recipe
from zoo.config.loading import RecipeError
from zoo.config.schema import Loss
from zoo.evaluation import losses_and_metrics
from zoo.models.losses import SparseCategoricalCrossentropy

LABELS = np.array([0, 2, 1, 2])
SCORES = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.5, 0.25, 0.25]], "float32")


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_equals_categorical_crossentropy_on_one_hot_labels(from_logits, smoothing):
    scores = np.log(SCORES) if from_logits else SCORES
    ours = SparseCategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing)
    theirs = keras.losses.CategoricalCrossentropy(
        from_logits=from_logits, label_smoothing=smoothing
    )
    expected = float(theirs(np.eye(3)[LABELS], scores))
    assert float(ours(LABELS, scores)) == pytest.approx(expected, rel=1e-6)
    assert float(ours(LABELS[:, None], scores)) == pytest.approx(expected, rel=1e-6)


def test_smoothing_by_hand():
    """One example, 2 classes, s = 0.2: targets (0.9, 0.1) against probabilities (0.8, 0.2)."""
    loss = SparseCategoricalCrossentropy(label_smoothing=0.2)
    by_hand = -(0.9 * np.log(0.8) + 0.1 * np.log(0.2))
    assert float(loss(np.array([0]), np.array([[0.8, 0.2]], "float32"))) == pytest.approx(
        by_hand, rel=1e-5
    )


def test_recipe_loss_picks_the_class_that_takes_its_options():
    plain = losses_and_metrics.loss(Loss(name="sparse_categorical_crossentropy"))
    assert type(plain) is keras.losses.SparseCategoricalCrossentropy
    smoothed = losses_and_metrics.loss(
        Loss(name="sparse_categorical_crossentropy", label_smoothing=0.2)
    )
    assert isinstance(smoothed, SparseCategoricalCrossentropy)
    assert smoothed.label_smoothing == 0.2
    one_hot = losses_and_metrics.loss(Loss(name="categorical_crossentropy", label_smoothing=0.2))
    assert type(one_hot) is keras.losses.CategoricalCrossentropy


def test_smoothing_outside_zero_to_one_is_a_recipe_error():
    with pytest.raises(RecipeError) as caught:
        load_recipe(
            "recipes/mnist_cnn.yaml",
            ["training.loss={name: sparse_categorical_crossentropy, label_smoothing: 1.5}"],
        )
    assert "training.loss.label_smoothing" in str(caught.value)


@pytest.mark.slow
def test_trains_with_smoothing_and_reloads_in_a_fresh_process(mnist_ready, tmp_path):
    """A run compiled with the smoothed loss learns, and its `.keras` file (which records
    the loss) loads with compile in a process that only imported zoo."""
    recipe = load_recipe(
        "recipes/mnist_cnn.yaml",
        [
            *SMALL_MNIST,
            "training.epochs=1",
            "training.loss={name: sparse_categorical_crossentropy, label_smoothing: 0.1}",
            "export.saved_model=false",
        ],
    )
    result = train_recipe(recipe, output_dir=tmp_path, verbose=0)
    assert result.metrics["test"]["accuracy"] > 0.8  # Chance is 0.1.
    losses = result.history["loss"]
    assert losses[-1] < np.log(10)  # Below the loss of a uniform guess.
    code = (
        "import json, sys, zoo, keras\n"
        "m = keras.saving.load_model(sys.argv[1])\n"
        "print(json.dumps(m.loss.get_config()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(result.run_dir / "model.keras")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    config = json.loads(out.stdout.strip().splitlines()[-1])
    assert config["label_smoothing"] == pytest.approx(0.1)
