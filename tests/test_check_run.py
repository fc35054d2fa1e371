"""`zoo train RECIPE --check`: every stage once on one batch, nothing written; planted
defects in each kind of data end in exit 2 naming them. CLI runs are subprocesses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, run_cli

MLP = "{{name: mlp, params: {{hidden_units: [8]}}}}"
RECIPE = """\
seed: 1
model: {{name: mlp, params: {{hidden_units: [8]}}}}
data:
  source: npz
  path: {path}
  splits: {{train: train, validation: val, test: test}}
training: {{batch_size: 8, epochs: 1, loss: sparse_categorical_crossentropy, metrics: [accuracy]}}
evaluation: {{splits: [test]}}
export: {{keras: true, saved_model: true}}
"""


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", 24), ("val", 8), ("test", 8)):
        out[f"{split}_images"] = rng.random((n, 3, 4)).astype(np.float32)
        out[f"{split}_labels"] = (np.arange(n) % 2).astype(np.int64)
    return out


def _recipe(tmp_path: Path, body: str = RECIPE, **arrays) -> Path:
    np.savez(tmp_path / "d.npz", **{**_arrays(), **arrays})
    path = tmp_path / "r.yaml"
    path.write_text(body.format(path=tmp_path / "d.npz"))
    return path


def _runs() -> set[str]:
    runs = REPO / "runs"
    return set(os.listdir(runs)) if runs.is_dir() else set()


def _refused(result, *words: str) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1, result.stderr[-2000:]
    for word in words:
        assert word in error[0], error[0]
    return error[0]


def test_check_passes_a_good_recipe_and_writes_no_run(tmp_path):
    recipe = _recipe(tmp_path)
    before, files = _runs(), set(os.listdir(tmp_path))
    result = run_cli(str(recipe), "--check")
    assert result.returncode == 0, result.stderr[-2000:]
    for stage in ("strategy", "data", "model", "training", "evaluation", "export", "report"):
        assert f"check: {stage} " in result.stdout and "ok" in result.stdout
    assert "check: passed in" in result.stdout
    assert "data check: train: 24 examples (all checked)" in result.stderr
    assert _runs() == before and set(os.listdir(tmp_path)) == files


def test_check_names_nan_in_npz(tmp_path):
    images = _arrays()["test_images"]
    images[5, 2, 1] = np.nan
    result = run_cli(str(_recipe(tmp_path, test_images=images)), "--check")
    _refused(result, "--check failed at data", "data.splits.test", "index 5", "NaN")


def test_train_refuses_a_stray_label_before_building_a_model(tmp_path):
    labels = _arrays()["train_labels"]
    labels[3] = 10**6
    out = tmp_path / "out"
    result = run_cli(str(_recipe(tmp_path, train_labels=labels)), "--output-dir", str(out))
    _refused(result, "label 1000000", "index 3", "data.class_names")
    assert not out.exists()


def test_check_names_a_fifo_in_a_text_class_folder(tmp_path):
    for split in ("train", "test"):
        for c in ("neg", "pos"):
            (tmp_path / "t" / split / c).mkdir(parents=True)
            for i in range(4):
                (tmp_path / "t" / split / c / f"{i}.txt").write_text(f"{c} text {i}")
    os.mkfifo(tmp_path / "t" / "train" / "pos" / "pipe.txt")
    body = RECIPE.replace(
        MLP, "{{name: text_rnn, params: {{embedding_dim: 8, units: [4]}}}}"
    ).replace("source: npz", "source: directory\n  kind: text")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        body.format(path=tmp_path / "t").replace("{train: train, validation: val, test: test}",
                                                 "{train: train, test: test}")
    )  # fmt: skip
    result = run_cli(str(recipe), "--check", timeout=120)
    _refused(result, "FIFO", "pipe.txt", "data.splits.train")


def test_check_names_a_blank_label_in_a_csv(tmp_path):
    rows = ["a,b,y"] + [f"{i},{i % 3},{'xy'[i % 2]}" for i in range(20)]
    rows[7] = "6,0,"
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    body = RECIPE.replace(
        "source: npz\n  path: {path}\n  splits: {{train: train, validation: val, test: test}}",
        "source: csv\n  path: {path}\n  feature_columns: [a, b]\n  label_column: y\n"
        "  validation_fraction: 0.2\n  test_fraction: 0.2",
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text(body.format(path=tmp_path / "d.csv"))
    _refused(run_cli(str(recipe), "--check"), "line 8", "blank")


def test_check_in_process_reports_each_stage(tmp_path):
    import zoo

    report = zoo.check(_recipe(tmp_path))
    names = [s.name for s in report.stages.done]
    assert names == ["strategy", "data", "model", "training", "evaluation", "export", "report"]
    assert all(s.seconds >= 0 for s in report.stages.done)
    export = dict((s.name, s.detail) for s in report.stages.done)["export"]
    assert export == "keras verified, saved_model verified"  # In a fresh process.
    assert report.history["loss"] and len(report.history["loss"]) == 1  # One epoch.
    assert not report.run_dir.exists()  # The scratch folder is gone.


def test_check_names_the_stage_where_the_model_does_not_fit_the_data(tmp_path):
    import zoo
    from zoo.errors import ZooError

    body = RECIPE.replace(MLP, "{{name: mnist_cnn}}")
    with pytest.raises(ZooError, match=r"--check failed at (model|training)"):
        zoo.check(_recipe(tmp_path, body))


# ------------------------------------------------- what the run would fail, --check fails
@pytest.mark.parametrize(
    ("extra", "stage", "words"),
    [
        ("  init_from: presets/no-such-preset\n", "model.init_from", ["no-such-preset"]),
        ("  freeze: [no_layer_is_called_this*]\n", "model", ["no_layer_is_called_this"]),
    ],
)
def test_check_fails_where_the_run_would_at_the_model(tmp_path, extra, stage, words):
    body = RECIPE.replace(f"model: {MLP}\n", f"model:\n  name: mlp\n{extra}")
    result = run_cli(str(_recipe(tmp_path, body)), "--check")
    _refused(result, f"--check failed at {stage}", *words)


def test_check_fails_an_export_that_cannot_be_written(tmp_path, monkeypatch):
    """The ONNX converter failing on the model (tf2onnx meets an op it cannot express):
    --check runs the recipe's own export formats, so it fails there, naming the stage."""
    import zoo
    from zoo.errors import ZooError
    from zoo.exporting.formats import FORMATS

    def cannot_convert(*_args, **_kwargs):
        raise RuntimeError("tf2onnx: no converter for op 'Bucketize' (opset 17)")

    monkeypatch.setattr(FORMATS["onnx"], "write", cannot_convert)
    body = RECIPE.replace("saved_model: true}}", "saved_model: true, onnx: true}}")
    with pytest.raises(ZooError, match=r"--check failed at export: RuntimeError: tf2onnx"):
        zoo.check(_recipe(tmp_path, body))


def test_check_fails_a_callback_that_cannot_start(tmp_path):
    """TensorBoard is an extra: without it the recipe is refused before any work; a
    callback failing when training starts fails --check at the training stage."""
    import importlib.util

    body = RECIPE.replace(
        "training: {{batch_size: 8, epochs: 1,",
        "training: {{batch_size: 8, epochs: 1, callbacks: {{tensorboard: true}},",
    )
    result = run_cli(str(_recipe(tmp_path, body)), "--check")
    if importlib.util.find_spec("tensorboard") is None:
        _refused(result, "tensorboard", "pip install")
    else:
        assert result.returncode == 0, result.stderr[-2000:]
