"""`zoo predict` meets real inputs: a 100×100 RGB photo into a 28×28×1 model is converted
and resized (and says so), folders and `.onnx` models are taken, `--json` gives one object
per input, and arrays with NaN, out-of-range or fractional pixels, or files over the size
cap, are refused naming the file (exit 2, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.cli.main import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A 28×28×1 uint8-input classifier (raw pixels in, as zoo exports), .keras and .onnx."""
    folder = tmp_path_factory.mktemp("predict")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model(np.zeros((1, 28, 28, 1), "uint8"))  # Keras's ONNX exporter wants a called model.
    model.save(folder / "model.keras")
    model.export(str(folder / "model.onnx"), format="onnx", verbose=False)
    return folder


def _png(path: Path, rgb: tuple[int, int, int], size: int = 100) -> Path:
    pixels = np.zeros((size, size, 3), "uint8") + np.array(rgb, "uint8")
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    return path


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["predict", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_large_rgb_photo_is_converted_like_training_data(model_dir, tmp_path, capsys):
    photo = _png(tmp_path / "photo.png", (200, 100, 50))
    code, out, err = _run(capsys, str(model_dir / "model.keras"), str(photo), "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["note"] == "converted 100×100×3 → 28×28×1"
    # Grey = 0.2989 R + 0.587 G + 0.114 B = 124.2 → 124, uniform whatever the resize.
    model = keras.saving.load_model(model_dir / "model.keras")
    expected = model.predict(np.full((1, 28, 28, 1), 124, "uint8"), verbose=0)[0]
    best = int(np.argmax(expected))
    assert answer["class"] == str(best)
    assert answer["probability"] == pytest.approx(float(expected[best]), abs=1e-6)
    assert len(answer["top"]) == 3
    code, out, _ = _run(capsys, str(model_dir / "model.keras"), str(photo))
    assert code == 0 and "(converted 100×100×3 → 28×28×1)" in out


def test_a_folder_and_an_onnx_model(model_dir, tmp_path, capsys):
    inputs = tmp_path / "inputs"
    (inputs / "more").mkdir(parents=True)
    _png(inputs / "a.png", (0, 0, 0), size=28)
    _png(inputs / "more" / "b.png", (255, 255, 255), size=50)
    np.save(inputs / "c.npy", np.full((2, 28, 28, 1), 7, "uint8"))
    (inputs / "notes.md").write_text("not an input")
    answers = {}
    for model in ("model.keras", "model.onnx"):
        code, out, err = _run(capsys, str(model_dir / model), str(inputs), "--json", "--top", "10")
        assert code == 0, err
        answers[model] = [json.loads(line) for line in out.splitlines()]
    keras_rows, onnx_rows = answers["model.keras"], answers["model.onnx"]
    assert [r["input"] for r in keras_rows] == [
        str(inputs / "a.png"),
        f"{inputs / 'c.npy'}[0]",
        f"{inputs / 'c.npy'}[1]",
        str(inputs / "more" / "b.png"),
    ]
    assert "note" not in keras_rows[1] and "28×28×1" in keras_rows[0]["note"]  # 3 → 1 channel.
    for k, o in zip(keras_rows, onnx_rows, strict=True):
        assert k["input"] == o["input"] and k["class"] == o["class"]
        got = {t["class"]: t["probability"] for t in o["top"]}
        assert all(abs(got[t["class"]] - t["probability"]) < 1e-5 for t in k["top"])


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.full((28, 28, 1), np.nan, "float32"), "NaN or infinite"),
        (np.full((28, 28, 1), 300.0, "float32"), "values from 300 to 300"),
        (np.full((28, 28, 1), 0.5, "float32"), "fractional values"),
        (np.full((28, 28, 1), -1, "int16"), "in [0, 255]"),
    ],
    ids=["nan", "over-255", "fraction", "negative"],
)
def test_bad_arrays_are_refused_naming_the_file(model_dir, tmp_path, capsys, array, words):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    code, out, err = _run(capsys, str(model_dir / "model.keras"), str(path))
    assert code == 2 and "Traceback" not in err and out == ""
    assert str(path) in err and words in err, err


def test_files_over_the_size_cap_are_refused_unread(model_dir, tmp_path, capsys, monkeypatch):
    photo = _png(tmp_path / "photo.png", (1, 2, 3))
    monkeypatch.setenv("ZOO_MAX_INPUT_BYTES", "64")
    code, _, err = _run(capsys, str(model_dir / "model.keras"), str(photo))
    assert code == 2 and "over zoo's input_bytes limit of 64" in err
    assert f"ZOO_MAX_INPUT_BYTES={photo.stat().st_size}" in err  # How to raise it.
    monkeypatch.setenv("ZOO_MAX_INPUT_BYTES", "lots")
    code, _, err = _run(capsys, str(model_dir / "model.keras"), str(photo))
    assert code == 2 and "ZOO_MAX_INPUT_BYTES" in err and "lots" in err
