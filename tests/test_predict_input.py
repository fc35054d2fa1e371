"""`zoo.cli.predict` with bad arguments and files: exit 2 and one message naming the file."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.exporting.artifacts import Loaded
from zoo.usecases.predict import read_inputs

REPO = Path(__file__).resolve().parents[1]


def predict_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli.predict", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("top", ["0", "-1", "x"])
def test_top_must_be_positive(tmp_path, top):
    out = predict_cli(str(tmp_path), "a.png", "--top", top)
    assert out.returncode == 2 and "--top" in out.stderr and "Traceback" not in out.stderr


def test_missing_and_fifo_inputs_are_refused_before_loading(tmp_path):
    fifo = tmp_path / "in.npy"
    os.mkfifo(fifo)
    for path, words in ((fifo, "not a regular file"), (tmp_path / "nope.png", "does not exist")):
        out = predict_cli(str(tmp_path), str(path))
        assert out.returncode == 2, out.stderr
        assert words in out.stderr and str(path) in out.stderr
        assert "Traceback" not in out.stderr


def test_empty_npz_is_refused(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path)
    with pytest.raises(ZooError, match=r"empty \.npz"):
        read_inputs(path, (4,))


def test_npz_with_several_arrays_is_refused(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, a=np.zeros((1, 4)), b=np.zeros((1, 4)))
    with pytest.raises(ZooError, match="holds 2 arrays"):
        read_inputs(path, (4,))


@pytest.mark.parametrize(
    "array",
    [np.array("text"), np.zeros((0, 4)), np.array(["a", "b"]), np.zeros((2, 5))],
    ids=["string", "empty", "strings", "wrong-shape"],
)
def test_ill_typed_or_shaped_arrays_are_refused(tmp_path, array):
    path = tmp_path / "x.npy"
    np.save(path, array)
    with pytest.raises(ZooError, match=str(path)):
        read_inputs(path, (4,))


def test_good_batch_is_split_into_examples(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((3, 4), "float32"))
    assert [label for label, _ in read_inputs(path, (4,))] == [f"{path}[{i}]" for i in range(3)]


@pytest.mark.parametrize(
    "text", ["{not json", '{"class_names": 3}', "[1, 2]", '{"class_names": [{}]}']
)
def test_corrupt_classes_json_names_the_file(tmp_path, text):
    (tmp_path / "recipe.yaml").write_text("name: x\n")
    (tmp_path / "classes.json").write_text(text)
    loaded = Loaded(tmp_path / "model.keras", "keras", None)
    with pytest.raises(ZooError, match=r"classes\.json"):
        loaded.class_names(2)
