"""The exported SavedModel through TensorFlow's own tool, and the fresh-process check."""

import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def saved_model_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_saved_model_cli_shows_and_runs_serving_default(cnn_run, tmp_path):
    saved = str(cnn_run.run_dir / "saved_model")
    shown = saved_model_cli("show", "--dir", saved, "--all")
    assert shown.returncode == 0, shown.stderr[-2000:]
    signature = shown.stdout.split("signature_def['serving_default']:")[1]
    assert "inputs['image'] tensor_info:" in signature
    assert "dtype: DT_UINT8" in signature and "shape: (-1, 28, 28, 1)" in signature
    assert "outputs['probabilities'] tensor_info:" in signature

    digits = np.zeros((2, 28, 28, 1), np.uint8)
    digits[1, 4:24, 13:16] = 255  # A bar: something other than a blank image.
    np.save(tmp_path / "digits.npy", digits)
    ran = saved_model_cli(
        "run",
        "--dir",
        saved,
        "--tag_set",
        "serve",
        "--signature_def",
        "serving_default",
        "--inputs",
        f"image={tmp_path / 'digits.npy'}",
        "--outdir",
        str(tmp_path / "out"),
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    probs = np.load(tmp_path / "out" / "probabilities.npy")
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_fresh_process_check_catches_a_mismatch(cnn_run):
    from zoo.exporting import verify
    from zoo.exporting.artifacts import load

    inputs = np.zeros((3, 28, 28, 1), np.uint8)
    right = load(cnn_run.run_dir / "model.keras").predict(inputs)
    artifacts = {"keras": cnn_run.run_dir / "model.keras"}
    assert verify.check(artifacts, inputs, right)["keras"]["ok"] is True
    wrong = verify.check(artifacts, inputs, right + 0.01)["keras"]
    assert wrong["ok"] is False and wrong["max_abs_difference"] == pytest.approx(0.01, abs=1e-6)


def test_tflite_artifact_matches_the_keras_model(cnn_run):
    from zoo.exporting.artifacts import load

    digits = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
    lite = load(cnn_run.run_dir / "model.tflite")
    assert (lite.input_name, lite.input_dtype, lite.input_shape) == ("image", "uint8", (28, 28, 1))
    keras_probs = load(cnn_run.run_dir / "model.keras").predict(digits)
    np.testing.assert_allclose(lite.predict(digits), keras_probs, atol=1e-4)


def test_export_cli_rewrites_a_missing_saved_model(cnn_run, tmp_path):
    import json
    import shutil

    from tests.conftest import run_cli

    run = tmp_path / "run"
    shutil.copytree(cnn_run.run_dir, run)
    shutil.rmtree(run / "saved_model")
    out = run_cli(str(run), "--format", "saved_model", module="zoo.cli.export")
    assert out.returncode == 0, out.stderr[-3000:]
    assert (run / "saved_model" / "saved_model.pb").is_file()
    check = json.loads((run / "export-saved_model.json").read_text())["saved_model"]
    assert check["ok"] is True and check["fresh_process"] is True
    # Its own record only: the run's metrics.json is the trainer's, untouched.
    assert (run / "metrics.json").read_bytes() == (cnn_run.run_dir / "metrics.json").read_bytes()
    bad = run_cli(str(tmp_path / "nowhere"), "--format", "tflite", module="zoo.cli.export")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
