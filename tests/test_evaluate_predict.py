"""`zoo.cli.evaluate` and `zoo.cli.predict` on a finished real run: same figures, right digits."""

import json

import numpy as np
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def test_digits(cnn_run):
    """The first 8 real MNIST test digits (raw uint8) with their labels."""
    from zoo import load_recipe
    from zoo.data import load

    recipe = load_recipe(cnn_run.run_dir / "recipe.yaml")
    images, labels = next(iter(load(recipe.data, batch_size=8, seed=0).test))
    return images.numpy(), labels.numpy()


def test_evaluate_cli_reproduces_the_runs_test_figures(cnn_run, tmp_path):
    out = run_cli(str(cnn_run.run_dir), "--output-dir", str(tmp_path), module="zoo.cli.evaluate")
    assert out.returncode == 0, out.stderr[-3000:]
    again = json.loads((tmp_path / "metrics.json").read_text())
    original = json.loads((cnn_run.run_dir / "metrics.json").read_text())
    assert again["test"] == pytest.approx(original["test"], abs=1e-5)
    assert (
        again["report"]["test"]["confusion_matrix"]
        == original["report"]["test"]["confusion_matrix"]
    )
    assert (tmp_path / "confusion_matrix_test.png").is_file()
    assert f"accuracy={original['test']['accuracy']:.4f}" in out.stdout


def test_evaluate_saved_model_on_another_split(cnn_run, tmp_path):
    from zoo.usecases.evaluate import evaluate

    result = evaluate(
        cnn_run.run_dir / "saved_model",
        recipe=cnn_run.run_dir / "recipe.yaml",
        split="validation",
        output_dir=tmp_path,
    )
    assert result["report"]["validation"]["per_class"]["0"]["support"] > 0
    assert sum(sum(r) for r in result["report"]["validation"]["confusion_matrix"]) == 500
    assert result["validation"]["accuracy"] > 0.85


def test_predict_names_real_digits_from_png_and_npy(cnn_run, test_digits, tmp_path):
    import keras
    import tensorflow as tf

    images, labels = test_digits
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"digit{i}.png")
        tf.io.write_file(str(paths[-1]), tf.io.encode_png(image))
    np.save(tmp_path / "batch.npy", images[:3])
    np.savez(tmp_path / "one.npz", first=images[0])
    inputs = [*map(str, paths), str(tmp_path / "batch.npy"), str(tmp_path / "one.npz")]
    out = run_cli(str(cnn_run.run_dir), *inputs, module="zoo.cli.predict")
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert len(lines) == len(images) + 4
    assert lines[-1].startswith(f"{tmp_path / 'one.npz'}:first: ")
    predicted = [int(line.split(": ")[1].split()[0]) for line in lines]
    model = keras.saving.load_model(cnn_run.run_dir / "model.keras")
    expected = model.predict(images, verbose=0).argmax(axis=1)
    assert predicted == [*expected, *expected[:3], expected[0]]  # PNG is lossless.
    assert np.sum(expected == labels) >= 7  # The run scores > 90% on test.


@pytest.mark.parametrize("what", ["missing", "corrupted"])
def test_predict_bad_model_path_exits_2_with_a_clear_error(tmp_path, what):
    model = tmp_path / "model.keras"
    if what == "corrupted":
        model.write_bytes(b"PK\x03\x04 this is not a keras archive")
    digit = tmp_path / "x.npy"
    np.save(digit, np.zeros((28, 28, 1), np.uint8))
    out = run_cli(str(model), str(digit), module="zoo.cli.predict")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(model) in last
    assert ("No model at" if what == "missing" else "Cannot load the keras model") in last
