"""`zoo list`: every model and built-in recipe on one line each, without TensorFlow."""

import subprocess
import sys

from tests.conftest import REPO, SHARED_DATA
from zoo.models.registry import list_models


def _run(*args: str, cwd=REPO) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\nfrom zoo.cli.main import main\ncode = main(['list', *sys.argv[1:]])\n"
        "print('TF-IMPORTED' if 'tensorflow' in sys.modules else 'NO-TF', file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def _recipe_lines(stdout: str) -> dict[str, str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("recipes"))
    return {x.split()[0]: x for x in lines[start + 1 :] if x.startswith("  ")}


def test_lists_models_and_builtin_recipes_with_their_data_without_tensorflow(tmp_path):
    out = _run(cwd=tmp_path)  # From outside the checkout: the built-in recipes still show.
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().endswith("NO-TF")
    lines = out.stdout.splitlines()
    models = lines[1 : lines.index("recipes:")]
    assert lines[0] == "models:"
    assert [line.split()[0] for line in models] == list_models()
    assert all(line.split()[1] == "classification" for line in models)
    cnn = next(line for line in models if line.split()[0] == "mnist_cnn")
    assert "documented MNIST convnet" in cnn
    recipes = _recipe_lines(out.stdout)
    expected = {"mnist_base", "mnist_cnn", "mnist_mlp", "cifar10_cnn", "cifar10_cnn_tfds"}
    expected |= {
        "cifar10_resnet",
        "cifar10_resnet20",
        "cifar10_resnet_short",
        "imdb_bow",
        "imdb_transformer",
    }  # issue 21
    expected |= {"adrenalmnist3d_r2plus1d", "moving_shapes_r2plus1d"}
    expected |= {"imdb_base", "imdb_lstm", "imdb_reviews_tfds", "cifar10_base"}
    expected |= {"moving_shapes_video_cnn", "adrenalmnist3d_video_cnn", "ucf101_video_cnn"}
    expected |= {"mnist_mod5_transfer"}  # fine-tuning example (issue 13)
    assert set(recipes) == expected
    assert recipes["mnist_cnn"].split()[1] == "tfds:mnist"
    assert "Adam with cosine decay" in recipes["mnist_cnn"]
    assert recipes["imdb_lstm"].split()[1] == "directory:zoo-data://imdb/aclImdb.tar.gz"
    assert "BiLSTM" in recipes["imdb_lstm"]
    assert "npz:zoo-data://medmnist/adrenalmnist3d.npz" in recipes["adrenalmnist3d_video_cnn"]
    for base in ("mnist_base", "imdb_base", "cifar10_base"):
        assert "(base)" in recipes[base], recipes[base]
    # conftest points ZOO_DATA_DIR at the shared data; the listing says where that is.
    assert f"zoo-data:// is {SHARED_DATA}" in out.stdout


def test_an_invalid_recipe_is_listed_as_invalid_and_the_rest_still_show(tmp_path):
    (tmp_path / "good.yaml").write_text(
        "description: fine\nmodel: {name: mlp}\ndata: {source: tfds, name: mnist}\n"
    )
    (tmp_path / "typo.yaml").write_text(
        "model: {name: mlp}\ndata: {source: tfds, name: mnist}\ntraining: {epoch: 3}\n"
    )
    (tmp_path / "broken.yaml").write_text("model: [unclosed\n")
    out = _run("--recipes", str(tmp_path))
    assert out.returncode == 0, out.stderr
    recipes = _recipe_lines(out.stdout)
    assert recipes["good"].split()[1] == "tfds:mnist" and "fine" in recipes["good"]
    assert "INVALID" in recipes["typo"] and "training.epoch" in recipes["typo"]
    assert "INVALID" in recipes["broken"] and "YAML" in recipes["broken"]
    assert "Traceback" not in out.stderr


def test_missing_recipe_folder_is_a_clear_error(tmp_path):
    out = _run("--recipes", str(tmp_path / "nope"))
    assert out.returncode == 2
    assert "error: --recipes" in out.stderr and "Traceback" not in out.stderr
