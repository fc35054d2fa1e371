"""Benchmarks are not tests: only check that the tool runs on a tiny setting."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_benchmark_recipe_runs_tiny_and_writes_json(mnist_ready, tmp_path):
    out_json = tmp_path / "bench.json"
    out = subprocess.run(
        [
            sys.executable,
            "tools/benchmark_recipe.py",
            "recipes/mnist_mlp.yaml",
            "--set",
            "data.splits.train=train[:512]",
            "--set",
            "data.splits.validation=null",
            "--set",
            "data.splits.test=test[:256]",
            "--set",
            "training.epochs=1",
            "--json",
            str(out_json),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "test acc" in out.stdout
    (row,) = json.loads(out_json.read_text())["results"]
    assert row["epochs"] == 1 and row["test_accuracy"] > 0.2  # Chance is 0.1.


@pytest.mark.slow
def test_benchmark_runs_every_section_tiny_and_writes_json(mnist_ready, tmp_path):
    out_json = tmp_path / "bench.json"
    out = subprocess.run(
        [sys.executable, "tools/benchmark.py", "--tiny", "--json", str(out_json)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ratio zoo/plain" in out.stdout and "headroom" in out.stdout
    payload = json.loads(out_json.read_text())
    results = payload["results"]
    assert payload["tiny"] is True
    assert set(results) == {"overhead", "pipeline", "accuracy", "startup", "options"}
    assert results["overhead"]["ratio"] > 0
    assert results["pipeline"]["headroom"] > 0
    assert results["pipeline"]["recipes"]["mnist_cnn.yaml"]["headroom"] > 0
    assert 0 < results["overhead"]["expected_ratio_from_checkpoint"] < 1
    assert results["accuracy"]["best_test_accuracy"] > 0.2  # Chance is 0.1.
    assert "99.22%" in results["accuracy"]["reference"]
    assert results["startup"]["--help"]["median_s"] > 0
    assert {"jit_compile=true", "steps_per_execution=8", "mixed_bfloat16"} <= set(
        results["options"]
    )


def test_benchmark_rejects_unknown_section(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "tools/benchmark.py",
            "--sections",
            "speed",
            "--json",
            str(tmp_path / "b"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "unknown section(s) speed" in out.stderr
    assert not (tmp_path / "b").exists()


def _mnist_recipes(tmp_path) -> str:
    """A recipes folder with only the MNIST recipes (the shipped folder also names
    moving_shapes and ucf101, whose data these tests are not about)."""
    import shutil

    folder = tmp_path / "recipes"
    folder.mkdir()
    for name in ("mnist_base.yaml", "mnist_cnn.yaml", "mnist_mlp.yaml"):
        shutil.copy(REPO / "recipes" / name, folder / name)
    return str(folder)


def _tool(script: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """`python tools/<script> ARGS` from the repository root, output captured."""
    return subprocess.run(
        [sys.executable, f"tools/{script}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _prepare_data(*args: str) -> subprocess.CompletedProcess[str]:
    return _tool("prepare_data.py", *args)


@pytest.mark.slow
def test_prepare_data_prepares_mnist_once_then_reports_it_ready(manual_dir, tmp_path):
    data_dir = str(tmp_path / "tfds")
    recipes = _mnist_recipes(tmp_path)
    first = _prepare_data(
        "--data-dir", data_dir, "--manual-dir", str(manual_dir), "--recipes", recipes
    )
    assert first.returncode == 0, first.stderr[-2000:]
    assert "mnist: ready (prepared now in" in first.stdout
    assert "mnist_cnn.yaml" in first.stdout and "1 of 1 datasets ready" in first.stdout
    assert any((tmp_path / "tfds" / "mnist").rglob("dataset_info.json"))
    again = _prepare_data(
        "--data-dir", data_dir, "--manual-dir", str(manual_dir), "--recipes", recipes
    )
    assert again.returncode == 0
    assert "mnist: ready (already prepared)" in again.stdout


def test_prepare_data_reports_what_is_missing(tmp_path):
    recipes = _mnist_recipes(tmp_path)
    out = _prepare_data(
        "--data-dir", str(tmp_path / "tfds"), "--manual-dir", str(tmp_path), "--recipes", recipes
    )
    assert out.returncode == 2
    assert "mnist: MISSING" in out.stdout and "train-images-idx3-ubyte.gz" in out.stdout
    assert out.stdout.splitlines()[-1].startswith("0 of ") and "Traceback" not in out.stderr


@pytest.mark.shared_data
def test_prepare_data_covers_every_source(tmp_path):
    # One recipe per kind of source: a directory archive is extracted once (under the
    # data dir), an npz archive is checked split by split, a built-in TFDS dataset is
    # generated, and a TFDS dataset without its files is reported missing.
    import shutil
    import tarfile

    from tests.conftest import SHARED_DATA

    tree = tmp_path / "toy"
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            (tree / split / label).mkdir(parents=True)
            (tree / split / label / "a.txt").write_text(f"{label} review")
    with tarfile.open(tmp_path / "toy.tar.gz", "w:gz") as tar:
        tar.add(tree, arcname="toy")
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "toy_text.yaml").write_text(
        "model: {name: text_rnn}\n"
        "data: {source: directory, path: ../toy.tar.gz,\n"
        "       splits: {train: toy/train, test: toy/test}}\n"
        "training: {loss: sparse_categorical_crossentropy}\n"
    )
    npz = SHARED_DATA / "medmnist" / "adrenalmnist3d.npz"
    (folder / "adrenal.yaml").write_text(
        f"model: {{name: video_cnn}}\n"
        f"data: {{source: npz, path: {npz},\n"
        "       splits: {train: train, validation: val, test: test}}\n"
        "training: {loss: sparse_categorical_crossentropy}\n"
    )
    for name in ("moving_shapes_video_cnn.yaml", "ucf101_video_cnn.yaml"):
        shutil.copy(REPO / "recipes" / name, folder / name)
    args = ("--data-dir", str(tmp_path / "tfds"), "--manual-dir", str(tmp_path), "--recipes")
    first = _prepare_data(*args, str(folder))
    assert first.returncode == 2, first.stderr[-2000:]  # ucf101 cannot be had offline.

    def line(out, key):
        status = [x for x in out.stdout.splitlines() if ": ready (" in x or ": MISSING (" in x]
        return next(x for x in status if key in x.split(": ")[0])

    assert "ready (extracted in" in line(first, "toy.tar.gz"), first.stdout
    assert any((tmp_path / "tfds" / "extracted").rglob("a.txt"))
    adrenal = line(first, "adrenalmnist3d.npz")
    assert "ready" in adrenal and "train 1,188" in adrenal and "test 298" in adrenal
    assert line(first, "moving_shapes").startswith("moving_shapes: ready (prepared now in")
    assert line(first, "ucf101").startswith("ucf101: MISSING")
    assert first.stdout.splitlines()[-1] == "3 of 4 datasets ready"
    again = _prepare_data(*args, str(folder))
    assert "moving_shapes: ready (already prepared)" in again.stdout
    assert again.stdout.splitlines()[-1] == "3 of 4 datasets ready"


def test_zoo_prepare_says_where_a_missing_data_root_file_comes_from_and_goes(tmp_path):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "imdb.yaml").write_text(
        "model: {name: text_rnn}\n"
        "data: {source: directory, path: zoo-data://imdb/aclImdb.tar.gz,\n"
        "       splits: {train: aclImdb/train, test: aclImdb/test}}\n"
    )
    env = {**__import__("os").environ, "ZOO_DATA_DIR": str(tmp_path / "root")}
    out = subprocess.run(
        [sys.executable, "-m", "zoo", "prepare", "--recipes", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 2, out.stderr
    line = next(x for x in out.stdout.splitlines() if "MISSING" in x)
    assert str(tmp_path / "root" / "imdb" / "aclImdb.tar.gz") in line  # The exact place,
    assert "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz" in line  # source.
    assert out.stdout.splitlines()[-1] == "0 of 1 datasets ready"


@pytest.mark.slow
def test_benchmark_scale_runs_tiny_sizes_and_tabulates_the_targets(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "tools/benchmark_scale.py",
            "--workdir",
            str(tmp_path),
            "--csv-gb",
            "0.0005",
            "0.001",
            "--npz-gb",
            "0.0005",
            "--pngs",
            "40",
            "--steps",
            "12",
            "--repeats",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    names = [r["dataset"] for r in rows]
    assert "csv 0.001 GB (second run)" in names and "40 PNGs" in names
    assert "npz 0.0005 GB in memory (baseline 1)" in names
    for r in rows:
        assert "error" not in r, r
        assert r["peak_rss_mib"] > 0 and r["first_step_s"] > 0 and r["examples_per_s"] > 0
    assert "| csv peak RSS growth 0.0005 → 0.001 GB < 1.5× |" in result.stdout
    assert "| csv streamed throughput within 10% of in-memory |" in result.stdout


def test_benchmark_builders_runs_one_builder_and_writes_json(tmp_path):
    out_json = tmp_path / "builders.json"
    out = _tool(
        "benchmark_builders.py",
        *("--builders", "text_bow", "--steps", "1", "--repeats", "2", "--json", str(out_json)),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ratio (<= 1.05)" in out.stdout and "text_bow" in out.stdout
    payload = json.loads(out_json.read_text())
    assert (payload["steps"], payload["repeats"]) == (1, 2)
    (row,) = payload["results"].values()
    assert row["builder"] == "text_bow"
    counts = row["parameters"]
    assert counts["builder"] == counts["plain"] == {"trainable": 400_002, "non_trainable": 0}
    assert row["max_output_difference"] <= 1e-5
    assert len(row["builder_runs_examples_per_s"]) == len(row["plain_runs_examples_per_s"]) == 2
    assert row["builder_examples_per_s"] > 0 and row["plain_examples_per_s"] > 0
    assert row["ratio"] > 0 and row["target"] == "<= 1.05"


def test_benchmark_builders_refuses_a_plain_model_that_is_not_the_builders():
    import keras

    sys.path.insert(0, str(REPO / "tools"))
    try:
        import benchmark_builders as bench
    finally:
        sys.path.remove(str(REPO / "tools"))

    def dense(units, *, bias=True):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, use_bias=bias)])

    assert bench.same_parameters("x", dense(3), dense(3)) == {"trainable": 15, "non_trainable": 0}
    with pytest.raises(
        bench.NotTheSameModel, match=r"\{'trainable': 12, .* builder's \{'trainable': 15, "
    ):
        bench.same_parameters("x", dense(3), dense(3, bias=False))
    relu = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu")])
    x = keras.random.normal((8, 4), seed=1)
    with pytest.raises(bench.NotTheSameModel, match="predicts otherwise"):
        bench.same_outputs("x", dense(3), relu, x)  # Same counts, another function.


def test_benchmark_builders_rejects_an_unknown_builder(tmp_path):
    out = _tool("benchmark_builders.py", "--builders", "resnet,vgg", timeout=60)
    assert out.returncode == 2 and "unknown builder(s) vgg" in out.stderr
