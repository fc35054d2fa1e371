"""`python -m zoo.cli.list`: every model and recipe on one line each, without TensorFlow."""

import subprocess
import sys

from tests.conftest import REPO
from zoo.models.registry import list_models


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import runpy, sys; sys.argv = ['zoo.cli.list', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('zoo.cli.list', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print('TF-IMPORTED' if 'tensorflow' in sys.modules else 'NO-TF', file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_lists_models_and_recipes_without_tensorflow():
    out = _run()
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().endswith("NO-TF")
    lines = out.stdout.splitlines()
    models = lines[1 : lines.index("recipes:")]
    assert lines[0] == "models:"
    assert [line.split()[0] for line in models] == list_models()
    assert all(line.split()[1] == "classification" for line in models)
    cnn = next(line for line in models if line.split()[0] == "mnist_cnn")
    assert "documented MNIST convnet" in cnn
    recipes = {line.split()[0]: line for line in lines[lines.index("recipes:") + 1 :]}
    expected = {"mnist_base", "mnist_cnn", "mnist_mlp", "cifar10_cnn"}
    expected |= {"imdb_base", "imdb_lstm", "imdb_reviews_tfds"}
    expected |= {"moving_shapes_video_cnn", "adrenalmnist3d_video_cnn", "ucf101_video_cnn"}
    assert set(recipes) == {f"recipes/{n}.yaml" for n in expected}
    assert "Adam with cosine decay" in recipes["recipes/mnist_cnn.yaml"]
    assert "(base)" in recipes["recipes/mnist_base.yaml"]
    assert "(base)" in recipes["recipes/imdb_base.yaml"]
    assert "BiLSTM" in recipes["recipes/imdb_lstm.yaml"]


def test_missing_recipe_folder_is_a_clear_error(tmp_path):
    out = _run("--recipes", str(tmp_path / "nope"))
    assert out.returncode == 2
    assert "error: --recipes" in out.stderr and "Traceback" not in out.stderr
