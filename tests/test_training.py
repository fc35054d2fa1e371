"""Real training on a slice of real MNIST: learning, the run directory, and the exports."""

import csv
import json

import numpy as np
import pytest

from tests.conftest import MANUAL_DIR, SMALL_MNIST, run_cli
from zoo import load_recipe

pytestmark = pytest.mark.slow


def test_cnn_learns_well_above_chance(cnn_run):
    assert cnn_run.metrics["test"]["accuracy"] > 0.90  # chance is 0.10
    losses = cnn_run.history["loss"]
    assert len(losses) == 2 and losses[-1] < 0.6 * losses[0]


def test_run_directory_holds_everything(cnn_run):
    names = {p.name for p in cnn_run.run_dir.iterdir()}
    assert {
        "recipe.yaml",
        "history.csv",
        "metrics.json",
        "environment.json",
        "model.keras",
        "saved_model",
        "model.tflite",
        "checkpoints",
    } <= names
    assert (cnn_run.run_dir / "checkpoints" / "best.keras").is_file()
    assert not [n for n in names if "tmp" in n]
    metrics = json.loads((cnn_run.run_dir / "metrics.json").read_text())
    assert metrics["test"] == pytest.approx(cnn_run.metrics["test"])
    assert set(metrics["test"]) == {"loss", "accuracy"}
    rows = list(csv.DictReader((cnn_run.run_dir / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])


def test_environment_records_the_installed_zoo_version(cnn_run):
    from importlib import metadata

    recorded = json.loads((cnn_run.run_dir / "environment.json").read_text())["versions"]
    assert recorded["zoo"] == metadata.version("keras-recipe-zoo")  # Was "not installed".
    assert "not installed" not in recorded.values()


def test_resolved_recipe_in_run_dir_reproduces_the_run(cnn_run):
    saved = load_recipe(cnn_run.run_dir / "recipe.yaml")
    assert saved.training.epochs == 2 and saved.data.splits.train == "train[:4000]"


def test_saved_model_and_keras_file_agree_on_raw_pixels(cnn_run):
    import keras
    import tensorflow as tf

    from zoo.data import load

    recipe = load_recipe(cnn_run.run_dir / "recipe.yaml")
    images = next(iter(load(recipe.data, batch_size=50, seed=0).test))[0].numpy()
    assert images.dtype == np.uint8

    from_keras = keras.saving.load_model(cnn_run.run_dir / "model.keras").predict(images, verbose=0)
    serving = tf.saved_model.load(str(cnn_run.run_dir / "saved_model")).signatures[
        "serving_default"
    ]
    assert serving.structured_input_signature[1]["image"].dtype == tf.uint8
    from_saved = serving(image=tf.constant(images))["probabilities"].numpy()
    np.testing.assert_allclose(from_saved, from_keras, atol=1e-5)
    for kind in ("keras", "saved_model", "litert"):  # Reloaded in a fresh process.
        check = cnn_run.metrics["export"][kind]
        assert check["ok"] is True and check["fresh_process"] is True
        assert check["examples"] == 64 and check["max_abs_difference"] <= check["tolerance"]


def test_mirrored_over_two_cpu_devices_via_cli(mnist_ready, tmp_path):
    out = run_cli(
        "recipes/mnist_mlp.yaml",
        *[a for s in SMALL_MNIST for a in ("--set", s)],
        "--set",
        "training.epochs=2",
        "--set",
        "distribution.strategy=mirrored",
        "--set",
        "distribution.cpu_devices=2",
        "--set",
        "training.metrics=[accuracy, {name: top_k_accuracy, k: 3}, f1, auc]",
        "--output-dir",
        str(tmp_path),
        "-q",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "MirroredStrategy with 2 replica(s)" in out.stderr
    assert "(64 per replica)" in out.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.85
    assert "top_3_accuracy" in metrics["test"]
    assert 0.85 < metrics["test"]["f1"] <= 1.0 and 0.95 < metrics["test"]["auc"] <= 1.0
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert float(rows[-1]["val_f1"]) > 0.8  # Report metrics during training: on validation.


def test_classification_report_pictures_and_model_card(cnn_run):
    run_dir = cnn_run.run_dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    report = metrics["report"]["test"]
    assert report["class_names"] == [str(d) for d in range(10)]
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 1000  # test[:1000]
    assert np.trace(matrix) / 1000 == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    assert sum(c["support"] for c in report["per_class"].values()) == 1000
    assert all(0.5 < c["f1"] <= 1.0 for c in report["per_class"].values())
    for png in ("confusion_matrix_test.png", "training_curves.png"):
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (run_dir / "model_card.md").read_text()
    for needed in ("225,034", "train[:4000]", "seed: 42", "zoo train recipe.yaml", "tensorflow"):
        assert needed in card
    assert f"{metrics['test']['accuracy']:.4f}" in card
    assert str(MANUAL_DIR) not in card and str(run_dir) not in card  # Travels with a preset.
