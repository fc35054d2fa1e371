"""Presets: publish a finished run, load it back (fresh process), refuse bad presets,
fine-tune from one (init_from, freeze, head rebuild). A tiny real MLP run keeps it fast;
the cnn_run fixture gives the MNIST round trip."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.presets import format as fmt

REPO = Path(__file__).resolve().parents[1]
TINY = """name: tiny
model: {{name: mlp, params: {{hidden_units: [8]}}}}
data: {{source: npz, path: {npz}, splits: {{train: train, validation: null, test: test}},
        shuffle_buffer: 0}}
training: {{batch_size: 16, epochs: 2, optimizer: {{name: adam, learning_rate: 0.01}}}}
export: {{keras: true, saved_model: false}}
"""


def _npz(path: Path, classes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", 96), ("test", 48)):
        labels = np.arange(n) % classes
        x = rng.normal(size=(n, 4, 4)) + labels[:, None, None]
        arrays[f"{split}_images"] = x.astype("float32")
        arrays[f"{split}_labels"] = labels.astype("int64")
    np.savez(path, **arrays)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(folder, finished run, preset folder) of a tiny real MLP run, 3 classes."""
    from zoo import load_recipe, train_recipe
    from zoo.presets.publish import publish

    folder = tmp_path_factory.mktemp("presets")
    _npz(folder / "tiny.npz", 3, 0)
    _npz(folder / "five.npz", 5, 1)
    (folder / "tiny.yaml").write_text(TINY.format(npz="tiny.npz"))
    result = train_recipe(load_recipe(folder / "tiny.yaml"), output_dir=folder / "run", verbose=0)
    publish(result.run_dir, str(folder / "preset"))
    return folder, result.run_dir, folder / "preset"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "zoo", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=full,
    )


def _one_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single `error:` line of a refused command (exit 2, no traceback)."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    return errors[0]


def _copy(preset: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(preset, dest)
    return dest


def _main(module: str, args: list[str], capsys) -> tuple[int, str]:
    import importlib

    code = importlib.import_module(f"zoo.cli.{module}").main(args)
    return code, capsys.readouterr().err


# ---------------------------------------------------------------- the format
def test_preset_folder_holds_every_file_with_its_sha256_and_no_local_path(tiny):
    folder, _run, preset = tiny
    manifest = json.loads((preset / fmt.MANIFEST).read_text())
    assert set(manifest["files"]) >= {*fmt.REQUIRED, fmt.CARD, fmt.CLASSES}
    assert {"zoo", "keras", "tensorflow"} <= set(manifest["versions"])
    for rel, entry in manifest["files"].items():
        assert fmt.sha256_file(preset / rel) == entry["sha256"]
    config = json.loads((preset / fmt.CONFIG).read_text())
    assert config["builder"] == "mlp"
    assert config["params"] == {"hidden_units": [8], "input_shape": [4, 4], "num_classes": 3}
    for name in (fmt.RECIPE, fmt.METRICS, fmt.CARD):
        text = (preset / name).read_text()
        assert str(folder) not in text and str(Path.home()) not in text, name
    assert "path: tiny.npz" in (preset / fmt.RECIPE).read_text()


def test_scrub_keeps_symbolic_and_relative_paths():
    text = "a: /work/x/data.npz\nb: zoo-data://imdb/a.tar.gz\nc: sub/b.npz\nd: ~/d/e.npz\n"
    assert fmt.scrub_paths(text) == (
        "a: data.npz\nb: zoo-data://imdb/a.tar.gz\nc: sub/b.npz\nd: e.npz\n"
    )


def test_round_trip_in_a_fresh_process_matches_the_run_model(tiny):
    folder, run, preset = tiny
    code = (
        "import sys, numpy as np, keras, zoo\n"
        "p = zoo.from_preset(sys.argv[1])\n"
        "x = np.load(sys.argv[3])['test_images'][:64]\n"
        "ref = keras.saving.load_model(sys.argv[2]).predict(x, verbose=0)\n"
        "got = p.model.predict(x, verbose=0)\n"
        "print(float(np.max(np.abs(got - ref))), p.class_names, p.builder)\n"
    )
    uri = f"file://{preset}"
    proc = subprocess.run(
        [sys.executable, "-c", code, uri, str(run / "model.keras"), str(folder / "tiny.npz")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    diff, rest = proc.stdout.strip().split(" ", 1)
    assert float(diff) <= 1e-6
    assert rest == "['0', '1', '2'] mlp"


def test_build_model_with_weights_equals_the_trained_builder(tiny):
    import keras

    from zoo import build_model

    _, run, preset = tiny
    model = build_model("mlp", weights=str(preset))
    trained = keras.saving.load_model(run / "model.keras")
    for a, b in zip(model.weights, trained.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ZooError, match=r"other parameters of 'mlp': hidden_units=\[16\]"):
        build_model("mlp", weights=str(preset), hidden_units=[16])
    with pytest.raises(ZooError, match="holds weights of builder 'mlp', not 'mnist_cnn'"):
        build_model("mnist_cnn", weights=str(preset))


def test_evaluate_preset_reports_the_difference_from_its_metrics(tiny, tmp_path, capsys):
    folder, _, preset = tiny
    out = tmp_path / "eval"
    code, err = _main(
        "evaluate",
        [str(preset), "--set", f"data.path={folder / 'tiny.npz'}", "--output-dir", str(out)],
        capsys,
    )
    assert code == 0, err
    result = json.loads((out / "metrics.json").read_text())
    published = json.loads((preset / fmt.METRICS).read_text())["test"]
    assert result["preset"]["published"] == published
    assert abs(result["preset"]["difference"]["accuracy"]) < 1e-6
    assert "| accuracy |" in (out / "evaluation.md").read_text()


# ---------------------------------------------------------------- bad input
def test_tampered_file_is_refused_naming_it(tiny, tmp_path, capsys):
    copy = _copy(tiny[2], tmp_path)
    with (copy / fmt.WEIGHTS).open("r+b") as f:
        f.seek(-8, 2)
        f.write(b"tampered")
    code, err = _main("evaluate", [str(copy)], capsys)
    assert code == 2 and err.count("error:") == 1
    assert "model.weights.h5 does not match its sha256" in err
    with pytest.raises(ZooError, match=r"model\.weights\.h5 does not match"):
        from zoo import from_preset

        from_preset(copy)


def test_missing_manifest_is_refused(tiny, tmp_path, capsys):
    copy = _copy(tiny[2], tmp_path)
    (copy / fmt.MANIFEST).unlink()
    from zoo import build_model

    with pytest.raises(ZooError, match=r"has no manifest\.json"):
        build_model("mlp", weights=str(copy))
    code, err = _main("evaluate", [f"file://{copy}"], capsys)
    assert code == 2 and "has no manifest.json" in err


def test_unknown_scheme_is_refused(tiny, capsys):
    code, err = _main("publish", [str(tiny[1]), "s3://bucket/preset"], capsys)
    assert code == 2 and "Unknown preset address scheme 's3'" in err
    code, err = _main("evaluate", ["gs://bucket/preset"], capsys)
    assert code == 2 and "Unknown preset address scheme 'gs'" in err


def test_unfinished_run_and_foreign_destination_are_refused(tiny, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny[1], run)
    (run / "metrics.json").unlink()
    (run / "status.json").write_text('{"stage": "evaluated"}')
    code, err = _main("publish", [str(run), str(tmp_path / "p")], capsys)
    assert code == 2 and "unfinished run (stage: evaluated)" in err
    assert not (tmp_path / "p").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code, err = _main("publish", [str(tiny[1]), str(foreign)], capsys)
    assert code == 2 and "zoo did not write: notes.txt" in err
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_failed_export_check_is_refused(tiny, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny[1], run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["export"] = {"keras": {"ok": False, "max_abs_difference": 1.0}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    code, err = _main("publish", [str(run), str(tmp_path / "p")], capsys)
    assert code == 2 and "export check of keras failed" in err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # Closed once the socket is: connections are refused.


def test_hub_addresses_without_network_exit_2_with_one_message(tiny, tmp_path):
    port = _closed_port()
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "ZOO_CACHE_DIR": str(tmp_path)}
    error = _one_error(_cli("evaluate", "hf://org/name", env=env))
    assert "Cannot reach Hugging Face Hub for hf://org/name" in error
    assert "Connection refused" in error
    # kagglesdk's TEST environment is http://localhost:7777: refused unless a server runs.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", 7777)) != 0, "port 7777 is in use here"
    error = _one_error(_cli("publish", str(tiny[1]), "hf://org/name", env=env))
    assert "Cannot reach Hugging Face Hub for hf://org/name" in error
    env = {"KAGGLE_API_ENVIRONMENT": "TEST", "ZOO_CACHE_DIR": str(tmp_path)}
    proc = _cli("evaluate", "kaggle://owner/model/keras/v1", env=env)
    error = _one_error(proc)
    assert "Cannot reach Kaggle for kaggle://owner/model/keras/v1" in error
    assert proc.stdout == ""


# ---------------------------------------------------------------- fine-tuning
def test_init_from_rebuilds_the_head_and_freezes_layers(tiny):
    import keras

    from zoo import load_recipe, train_recipe

    folder, _, preset = tiny
    recipe = load_recipe(
        folder / "tiny.yaml",
        [
            f"data.path={folder / 'five.npz'}",
            f"model.init_from={preset}",
            "model.freeze=[dense_*]",
            "training.epochs=1",
        ],
    )
    result = train_recipe(recipe, output_dir=folder / "tuned", verbose=0)
    origin = result.metrics["training"]["init_from"]
    sha = fmt.manifest_hash(preset)
    assert origin["sha256"] == sha and origin["head_rebuilt"] == ["predictions"]
    assert origin["frozen"] == ["dense_0"]
    tuned = keras.saving.load_model(result.run_dir / "model.keras")
    source = keras.saving.load_model(preset / fmt.MODEL)
    assert tuned.output_shape[-1] == 5
    # Frozen: the hidden layer is exactly the preset's after a training epoch.
    for a, b in zip(
        tuned.get_layer("dense_0").weights, source.get_layer("dense_0").weights, strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert f"init_from_sha256: {sha}" in (result.run_dir / "recipe.yaml").read_text()
    card = (result.run_dir / "model_card.md").read_text()
    assert sha in card and "head rebuilt" in card and "frozen layers: dense_0" in card


def test_freeze_pattern_matching_nothing_lists_the_layers(tiny):
    from zoo import load_recipe, train_recipe

    folder, _, _preset = tiny
    recipe = load_recipe(folder / "tiny.yaml", ["model.freeze=[conv_*]"])
    with pytest.raises(
        ZooError, match=r"'conv_\*' matches no layer of 'mlp'. Its layers: .*dense_0, .*predictions"
    ):
        train_recipe(recipe, output_dir=folder / "nofreeze", verbose=0)
    assert not (folder / "nofreeze" / "recipe.yaml").exists()


def test_init_from_another_builder_or_changed_preset_is_refused(tiny, tmp_path):
    from zoo import load_recipe, train_recipe

    folder, _, preset = tiny
    recipe = load_recipe(
        folder / "tiny.yaml", ["model.name=cnn", "model.params={}", f"model.init_from={preset}"]
    )
    with pytest.raises(ZooError, match="holds weights of builder 'mlp'"):
        train_recipe(recipe, output_dir=tmp_path / "a", verbose=0)
    recipe = load_recipe(
        folder / "tiny.yaml", [f"model.init_from={preset}", f"model.init_from_sha256={'a' * 64}"]
    )
    with pytest.raises(ZooError, match="has changed"):
        train_recipe(recipe, output_dir=tmp_path / "b", verbose=0)


# ---------------------------------------------------------------- the real MNIST run
def test_cnn_run_round_trip_through_a_preset(cnn_run, tmp_path, capsys):
    import keras

    from zoo import from_preset

    code, err = _main("publish", [str(cnn_run.run_dir), str(tmp_path / "mnist")], capsys)
    assert code == 0, err
    preset = from_preset(tmp_path / "mnist")
    reference = keras.saving.load_model(cnn_run.run_dir / "model.keras")
    x = np.random.default_rng(0).integers(0, 256, size=(64, 28, 28, 1)).astype("uint8")
    got = preset.model.predict(x, verbose=0)
    np.testing.assert_allclose(got, reference.predict(x, verbose=0), atol=1e-6)
    assert preset.class_names == [str(i) for i in range(10)]
    assert preset.metrics["test"] == cnn_run.metrics["test"]
    code, err = _main(
        "evaluate", [str(tmp_path / "mnist"), "--output-dir", str(tmp_path / "e")], capsys
    )
    assert code == 0, err
    again = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert abs(again["preset"]["difference"]["accuracy"]) < 1e-3  # Within 0.1 point.
    assert np.sum(again["report"]["test"]["confusion_matrix"]) == 1000  # The whole split.


# ---------------------------------------------------------------- results table
def test_results_table_lists_runs_and_presets_and_fills_the_readme(tiny, tmp_path, capsys):
    import csv

    folder, run, _ = tiny
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- zoo results: start -->\nold\n<!-- zoo results: end -->\nafter\n")
    code, err = _main(
        "results",
        [str(run), str(folder), "--csv", str(tmp_path / "r.csv"), "--readme", str(readme)],
        capsys,
    )
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    names = [r["weights"].rsplit("/", 1)[-1] for r in rows]
    assert names[:2] == ["run", "preset"] and names.count("run") == 1  # Given, then found.
    expected = json.loads((run / "metrics.json").read_text())
    for r in (r for r in rows if r["weights"].rsplit("/", 1)[-1] in ("run", "preset")):
        assert (r["recipe"], r["model"], r["parameters"]) == ("tiny", "mlp", "163")
        kind = r["weights"].rsplit("/", 1)[-1]
        assert r["status"] == {"run": "finished", "preset": "preset"}[kind]
        assert float(r["test_accuracy"]) == expected["test"]["accuracy"]
        assert float(r["training_seconds"]) == expected["training"]["seconds"]
        assert "CPU cores" in r["hardware"] and float(r["size_mb"]) > 0
        # The speed figures the run measured, the same in the run's row and the preset's.
        speed = float(r["train_examples_per_s"])
        assert speed == expected["training"]["examples_per_second"] > 0
        assert r["batch1_format"] == "keras"  # The only format the tiny recipe exports.
        latency = float(r["batch1_latency_ms"])
        assert latency == expected["export"]["keras"]["batch1_latency_ms"] > 0
    text = readme.read_text()
    assert "old" not in text and "| tiny | mlp | finished |" in text and text.endswith("after\n")
    header = next(line for line in text.splitlines() if line.startswith("| recipe |"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells[cells.index("size_mb") + 1].startswith("test_")  # Size, then the scores.
    tail = cells[cells.index("training_seconds") :]
    assert tail[:6] == [
        "training_seconds",
        "train_examples_per_s",
        "batch1_latency_ms",
        "batch1_format",
        "hardware",
        "weights",
    ]
    code, err = _main("results", [str(tmp_path / "r.csv")], capsys)
    assert code == 2 and "is not a folder" in err


def _publish_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "publish_presets", REPO / "tools/publish_presets.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_publish_presets_tool_trains_publishes_and_tabulates(tiny, tmp_path, capsys):
    import csv

    tool = _publish_tool()
    out = tmp_path / "published"
    recipe = str(tiny[0] / "tiny.yaml")
    assert tool.main([recipe, "mnist_base", "--out", str(out), "--set", "training.epochs=1"]) == 0
    printed = capsys.readouterr().out
    assert "skip mnist_base: a base recipe" in printed
    fmt.verify(out / "tiny")
    assert (out / "runs" / "tiny" / "metrics.json").is_file()
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 1 and (rows[0]["recipe"], rows[0]["status"]) == ("tiny", "preset")
    # One epoch: its only epoch is timed, and the record says the warm-up was not left out.
    training = json.loads((out / "tiny" / "metrics.json").read_text())["training"]
    assert training["throughput"] == training["throughput"] | {
        "epochs_timed": 1,
        "first_epoch_excluded": False,
        "examples_per_epoch": 96,
    }
    assert float(rows[0]["train_examples_per_s"]) == training["examples_per_second"] > 0
    assert float(rows[0]["batch1_latency_ms"]) > 0 and rows[0]["batch1_format"] == "keras"


def test_publish_presets_tool_publishes_a_finished_run_and_refreshes_the_readme(
    tiny, tmp_path, capsys
):
    """--run RECIPE=RUN_DIR: a run trained elsewhere is published without training; every
    preset in OUT is tabulated, and the README's block is rewritten, the rest kept."""
    tool = _publish_tool()
    folder, run, _ = tiny
    out = tmp_path / "published"
    shutil.copytree(tiny[2], out / "older")  # A preset published before: still tabulated.
    readme = tmp_path / "README.md"
    readme.write_text("# t\n\n<!-- zoo results: start -->\nstale\n<!-- zoo results: end -->\nend\n")
    before = run.stat().st_mtime
    code = tool.main(["--run", f"tiny={run}", "--out", str(out), "--readme", str(readme)])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"published tiny -> {out / 'tiny'}" in printed
    assert not (out / "runs").exists() and run.stat().st_mtime == before  # Nothing trained.
    fmt.verify(out / "tiny")
    text = readme.read_text()
    assert text.startswith("# t\n\n<!-- zoo results: start -->\n| recipe | model |")
    assert "stale" not in text and text.endswith("<!-- zoo results: end -->\nend\n")
    table = text.split("<!-- zoo results: start -->\n")[1].split("<!-- zoo results: end -->")[0]
    assert table == (out / "results.md").read_text()
    lines = [line for line in table.splitlines() if line.startswith("| tiny |")]
    assert len(lines) == 2  # older and tiny: both presets of the tiny run.
    assert all("| keras |" in line for line in lines)
    # A run of another recipe, or an unfinished folder, is skipped saying why.
    assert tool.main(["--run", f"other={run}", "--out", str(out)]) == 1
    assert "skip other: " in capsys.readouterr().out
    assert tool.main(["--run", f"tiny={folder}", "--out", str(out)]) == 1
    assert "skip tiny: " in capsys.readouterr().out


def test_publish_presets_tool_walks_every_built_in_recipe():
    """The tool's plan (no training, no data): every built-in recipe is either published
    or skipped with a reason; the bases are skipped as bases, the families' recipes kept."""
    from zoo.config import builtin

    steps = {s.name: s for s in _publish_tool().plan(builtin.names(), [], {})}
    assert sorted(steps) == builtin.names()
    for base in ("imdb_base", "mnist_base", "cifar10_base"):
        assert steps[base].skip.startswith("a base recipe"), steps[base]
    for name in (
        "cifar10_resnet",
        "cifar10_resnet20",
        "cifar10_resnet_short",
        "cifar10_cnn",
        "imdb_bow",
        "imdb_transformer",
        "adrenalmnist3d_r2plus1d",
        "moving_shapes_r2plus1d",
    ):
        assert steps[name].recipe is not None and not steps[name].skip, name
    assert [s for s in steps.values() if not s.skip and s.recipe is None] == []


def test_run_records_its_speed_and_the_preset_carries_it(tiny):
    """Training examples/s (first epoch left out) and each verified format's batch-1
    latency are in the run's metrics.json and card, and the preset's metrics.json."""
    _, run, preset = tiny
    metrics = json.loads((run / "metrics.json").read_text())
    training, keras_check = metrics["training"], metrics["export"]["keras"]
    assert isinstance(training["examples_per_second"], float)
    assert training["examples_per_second"] > 0
    assert training["throughput"]["epochs_timed"] == 1  # Of 2: the first left out.
    assert training["throughput"]["first_epoch_excluded"] is True
    assert training["throughput"]["examples_per_epoch"] == 96
    assert keras_check["ok"] and keras_check["batch1_latency_ms"] > 0
    assert keras_check["batch1_calls"] >= 5
    card = (run / "model_card.md").read_text()
    assert "- training throughput: " in card and "the first left out" in card
    assert "batch-1 ms" in card
    published = json.loads((preset / "metrics.json").read_text())
    assert published["training"]["examples_per_second"] == training["examples_per_second"]
    assert published["export"]["keras"]["batch1_latency_ms"] == keras_check["batch1_latency_ms"]


def test_text_source_with_another_vocabulary_is_refused(tmp_path):
    import keras

    from zoo.presets import transfer
    from zoo.presets.publish import vocabulary_of

    vectorizer = keras.layers.TextVectorization(max_tokens=10)
    vectorizer.adapt(["good film", "bad film"])
    preprocessor = keras.Sequential([vectorizer])
    vocabulary = vocabulary_of(preprocessor)
    assert vocabulary[:2] == ["", "[UNK]"] and "film" in vocabulary
    (tmp_path / fmt.VOCABULARY).write_text("\n".join(vocabulary) + "\n")
    fmt.write_manifest(tmp_path, name="p", extra={})  # Only listed files are read.
    src = transfer.Source("p", "0" * 64, "preset", "text_rnn", {}, tmp_path)
    transfer.check_vocabulary(src, preprocessor)  # The same vocabulary: accepted.
    (tmp_path / fmt.VOCABULARY).write_text("\n".join(["", "[UNK]", "other"]) + "\n")
    with pytest.raises(ZooError, match="text vocabulary differs"):
        transfer.check_vocabulary(src, preprocessor)


def test_publishing_again_replaces_an_older_preset_only(tiny, tmp_path, capsys):
    dest = tmp_path / "p"
    shutil.copytree(tiny[2], dest)
    (dest / "stale.txt").write_text("from an older publish")
    manifest = json.loads((dest / fmt.MANIFEST).read_text())
    fmt.write_manifest(dest, name=manifest["name"], extra={})  # Listed: zoo wrote it.
    code, err = _main("publish", [str(tiny[1]), str(dest)], capsys)
    assert code == 0, err
    assert not (dest / "stale.txt").exists()
    fmt.verify(dest)
    assert [p.name for p in tmp_path.iterdir()] == ["p"]  # No temporary folder left.
    code, err = _main("publish", [str(tiny[1]), str(tiny[1] / "preset")], capsys)
    assert code == 2 and "inside the run folder" in err


def test_publish_presets_tool_publishes_into_the_cache_by_default(tiny, tmp_path, monkeypatch):
    """No --out: presets go under the cache root (ZOO_CACHE_DIR/published), never the repo."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    _, run, _ = tiny
    assert _publish_tool().main(["--run", f"tiny={run}"]) == 0
    fmt.verify(tmp_path / "cache" / "published" / "tiny")
