"""`zoo prepare [RECIPE ...]`: only the named recipes' data, and data zoo makes itself."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import zoo
from tests.conftest import REPO


def _zoo_prepare(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zoo", "prepare", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def test_prepare_mnist_cnn_exits_0_with_only_mnist_present(mnist_ready, tmp_path):
    # An empty data root: imdb, adrenalmnist3d and mnist_mod5 (other shipped recipes)
    # are all missing, and must not matter when only mnist_cnn is named.
    out = _zoo_prepare("mnist_cnn", ZOO_DATA_DIR=str(tmp_path / "empty"))
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("mnist: ready (") and "used by mnist_cnn.yaml" in lines[0]
    assert lines[-1] == "1 of 1 datasets ready"


def test_prepare_names_several_recipes_and_fails_when_one_lacks_its_data(mnist_ready, tmp_path):
    recipe = tmp_path / "imdb.yaml"
    recipe.write_text(
        "model: {name: text_rnn}\n"
        "data: {source: directory, path: zoo-data://imdb/aclImdb.tar.gz,\n"
        "       splits: {train: aclImdb/train, test: aclImdb/test}}\n"
    )
    out = _zoo_prepare("mnist_cnn", "mnist_mlp", str(recipe), ZOO_DATA_DIR=str(tmp_path / "r"))
    assert out.returncode == 2
    assert "used by mnist_cnn.yaml, mnist_mlp.yaml" in out.stdout  # Shared data: once.
    missing = next(x for x in out.stdout.splitlines() if "MISSING" in x)
    assert str(tmp_path / "r" / "imdb" / "aclImdb.tar.gz") in missing
    assert out.stdout.splitlines()[-1] == "1 of 2 datasets ready"


def test_prepare_an_unknown_recipe_is_one_error():
    out = _zoo_prepare("mnist_cnnn")
    assert out.returncode == 2
    assert "mnist_cnn" in out.stderr and "Traceback" not in out.stderr


def test_prepare_mnist_mod5_transfer_makes_the_npz(manual_dir, tmp_path):
    root = tmp_path / "root"
    out = _zoo_prepare("mnist_mod5_transfer", ZOO_DATA_DIR=str(root))
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    made = root / "mnist_mod5.npz"
    assert f"made {made}" in out.stdout and "train 300, test 2,000" in out.stdout
    with np.load(made) as f:
        assert f["train_images"].shape == (300, 28, 28, 1) and f["train_images"].dtype == np.uint8
        assert f["test_images"].shape == (2000, 28, 28, 1)
        assert sorted(set(f["train_labels"].tolist())) == [0, 1, 2, 3, 4]
        first = f["train_labels"][:10].tolist()
    # MNIST's first ten training digits are 5 0 4 1 9 2 1 3 1 4.
    assert first == [d % 5 for d in (5, 0, 4, 1, 9, 2, 1, 3, 1, 4)]
    again = _zoo_prepare("mnist_mod5_transfer", ZOO_DATA_DIR=str(root))
    assert again.returncode == 0 and "made " not in again.stdout  # Made once.


def test_prepare_mnist_mod5_without_the_mnist_files_says_what_to_give(tmp_path):
    result = zoo.prepare(recipes=["mnist_mod5_transfer"], manual_dir=str(tmp_path / "none"))
    ((ready, message, users),) = result.values()
    assert not ready and users == ["mnist_mod5_transfer.yaml"]
    assert "train-images-idx3-ubyte.gz" in message and "--manual-dir" in message


def test_a_missing_mnist_mod5_says_zoo_prepare_makes_it(tmp_path, monkeypatch):
    from zoo.config.paths import resolve
    from zoo.errors import DataError

    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as caught:
        resolve("zoo-data://mnist_mod5.npz")
    message = str(caught.value)
    assert "zoo prepare mnist_mod5_transfer" in message and "publisher" not in message
