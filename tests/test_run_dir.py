"""RunDir, the one owner of a run folder: whose folder, the lock, --overwrite, write errors,
and the evaluate/export write rules. Fast: no training (runs are made through RunDir)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SMALL_MNIST
from zoo import load_recipe
from zoo.errors import ZooError
from zoo.fs import atomic_write_text, writing
from zoo.runs.folder import RunDir, recipe_key
from zoo.runs.layout import LOCK, MANIFEST


def _recipe(*extra: str):
    return load_recipe(REPO / "recipes" / "mnist_cnn.yaml", [*SMALL_MNIST, *extra])


def claim(path, recipe=None, **kw) -> tuple[Path, bool]:
    with RunDir.claim(recipe or _recipe(), path, **kw) as run:
        return run.path, run.resuming


def fake_run(folder: Path, recipe=None, *, finished: bool = False, files=()) -> Path:
    """A run as the trainer leaves it, written through RunDir (no training)."""
    recipe = recipe or _recipe()
    with RunDir.claim(recipe, folder, overwrite=True) as run:
        run.start(recipe)
        run.write_text("history.csv", "epoch,loss\n0,1.0\n")
        for name in files:
            run.write_text(name, "old run")
        (run.file("saved_model")).mkdir()
        if finished:
            run.finish({"test": {"accuracy": 0.5}})
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ whose folder
def test_user_folder_with_run_like_names_is_refused_and_untouched_even_with_overwrite(tmp_path):
    user = tmp_path / "mine"
    (user / "backup").mkdir(parents=True)
    (user / "saved_model").mkdir()
    (user / "backup" / "thesis.tex").write_text("years of work")
    (user / "saved_model" / "saved_model.pb").write_bytes(b"mine")
    before = snapshot(user)
    for overwrite in (False, True):
        with pytest.raises(ZooError, match="holds files zoo did not write: backup, saved_model"):
            claim(user, overwrite=overwrite)
        assert snapshot(user) == before
        assert not (user / LOCK).exists() and not (user / MANIFEST).exists()


def test_recipe_folder_is_refused_and_the_recipe_never_replaced(tmp_path):
    recipe_file = tmp_path / "recipe.yaml"
    text = "# my comments\n" + (REPO / "recipes" / "mnist_cnn.yaml").read_text()
    recipe_file.write_text(text)
    (tmp_path / "mnist_base.yaml").write_text((REPO / "recipes" / "mnist_base.yaml").read_text())
    recipe = load_recipe(recipe_file, SMALL_MNIST)
    for overwrite in (False, True):
        with pytest.raises(ZooError, match="holds the recipe being trained"):
            claim(tmp_path, recipe, overwrite=overwrite, source=recipe_file)
        with pytest.raises(ZooError, match="files zoo did not write"):  # Without `source` too.
            claim(tmp_path, recipe, overwrite=overwrite)
    assert recipe_file.read_text() == text


def test_finished_run_refusal_does_not_push_overwrite_first(tmp_path):
    fake_run(tmp_path / "run", finished=True)
    with pytest.raises(ZooError) as caught:
        claim(tmp_path / "run")
    message = str(caught.value)
    assert "holds a finished run of recipe mnist_cnn" in message
    assert message.index("Choose a new folder") < message.index("--overwrite would delete")
    assert "only those zoo wrote" in message


def test_overwrite_removes_every_file_of_the_old_run_and_nothing_else(tmp_path):
    run = fake_run(tmp_path / "run", finished=True, files=("confusion_matrix_validation.png",))
    (run / "backup").mkdir()  # A leftover the old manifest does not list: foreign.
    with pytest.raises(ZooError, match="files zoo did not write: backup"):
        claim(run, overwrite=True)
    (run / "backup").rmdir()
    (run / ".metrics.json.tmp").write_text("half")  # A kill mid-write of the old run.
    recipe = _recipe()
    with RunDir.claim(recipe, run, overwrite=True) as new:
        assert not new.resuming
        new.start(recipe)
        left = sorted(p.name for p in run.iterdir())
    # Only what the new run wrote so far: no metrics.json, png or saved_model of the old.
    assert left == sorted([LOCK, MANIFEST, "recipe.yaml", "status.json"])
    assert not (run / LOCK).exists()  # Released.


def test_foreign_file_in_a_zoo_run_is_refused_in_every_mode(tmp_path):
    run = fake_run(tmp_path / "run")
    (run / "notes.txt").write_text("mine")
    for kw in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(ZooError, match=r"files zoo did not write: notes\.txt"):
            claim(run, **kw)
    assert (run / "notes.txt").read_text() == "mine"


def test_names_escaping_runs_are_refused(tmp_path):
    runs = tmp_path / "work" / "runs"
    for name in ("../../x", "/abs/x", "..", ".hidden", "a/b", "x\0y", "n" * 101):
        recipe = _recipe().model_copy(update={"name": name})
        with pytest.raises(ZooError, match="cannot name a run folder"):
            claim(None, recipe, runs_dir=runs)
    assert not (tmp_path / "x").exists() and not Path("/abs").exists()
    assert not runs.exists()  # Nothing created.


def test_default_folder_is_inside_runs_and_removed_when_nothing_was_written(tmp_path):
    runs = tmp_path / "runs"
    with RunDir.claim(_recipe(), None, runs_dir=runs) as run:
        assert run.path.parent == runs and run.path.name.startswith("mnist_cnn-")
        assert (run.path / LOCK).is_file()
    assert list(runs.iterdir()) == []  # Failed before its first write: no empty husk.


# ------------------------------------------------------------------ the lock
def test_second_claim_is_refused_naming_the_first_process(tmp_path):
    busy = rf"in use by another zoo process: pid {os.getpid()}"
    with RunDir.claim(_recipe(), tmp_path / "run"), pytest.raises(ZooError, match=busy):
        claim(tmp_path / "run")
    claim(tmp_path / "run")  # Released: free again.


def test_second_trainer_exits_2_naming_the_pid(tmp_path):
    run = tmp_path / "run"
    with RunDir.claim(_recipe(), run):
        out = subprocess.run(
            [sys.executable, "-m", "zoo.train", "recipes/mnist_cnn.yaml", "--output-dir", str(run)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 2, out.stderr[-2000:]
    assert f"pid {os.getpid()}" in out.stderr and "Traceback" not in out.stderr


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path, caplog):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    (tmp_path / "run").mkdir()
    import socket

    (tmp_path / "run" / LOCK).write_text(
        json.dumps({"pid": int(dead), "host": socket.gethostname(), "argv": ["zoo"]})
    )
    with caplog.at_level("INFO", logger="zoo"), RunDir.claim(_recipe(), tmp_path / "run") as run:
        assert json.loads((run.path / LOCK).read_text())["pid"] == os.getpid()
    assert f"stale lock of process {dead}" in caplog.text


# ------------------------------------------------------------------ write errors
def test_output_under_a_file_is_one_message(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ZooError, match="is a file, not a folder"):
        claim(tmp_path / "file" / "run")
    with pytest.raises(ZooError, match=r"Cannot write .*: Not a directory; a part of the path"):
        atomic_write_text(tmp_path / "file" / "x.json", "{}")


def test_unwritable_output_is_one_message_without_traceback():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.train",
            "recipes/mnist_cnn.yaml",
            "--output-dir",
            "/sys/zoo-run-test",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip  /sys refuses mkdir even to root (EPERM).
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Cannot write /sys/zoo-run-test" in out.stderr and "not writable" in out.stderr
    assert "Traceback" not in out.stderr


def test_full_disk_is_one_message():
    full = Path("/dev/full")  # Every write to it fails with ENOSPC, also for root.
    with pytest.raises(ZooError, match="disk is full"), writing(full), full.open("w") as f:
        f.write("x" * 100_000)
        f.flush()


# ------------------------------------------------------------------ resume identity
def test_moved_checkout_resumes_but_other_data_is_refused(tmp_path):
    import shutil

    old = tmp_path / "old"
    (old / "data").mkdir(parents=True)
    (old / "data" / "d.npz").write_bytes(b"")
    (old / "data" / "e.npz").write_bytes(b"")
    text = "name: t\nmodel: {name: mlp}\ndata: {source: npz, path: data/d.npz}\n"
    (old / "r.yaml").write_text(text)
    recipe = load_recipe(old / "r.yaml")
    with RunDir.claim(recipe, old / "run", source=old / "r.yaml") as run:
        run.start(recipe, old / "r.yaml")
    key = recipe_key(recipe, old / "r.yaml")
    new = tmp_path / "moved"
    shutil.move(old, new)
    moved = load_recipe(new / "r.yaml")
    assert moved.data.path != recipe.data.path  # Absolute paths did change.
    assert recipe_key(moved, new / "r.yaml") == key
    assert claim(new / "run", moved, source=new / "r.yaml") == (new / "run", True)
    (new / "r.yaml").write_text(text.replace("d.npz", "e.npz"))
    other = load_recipe(new / "r.yaml")
    with pytest.raises(ZooError, match="different recipe"):
        claim(new / "run", other, source=new / "r.yaml")


# ------------------------------------------------------------------ evaluate / export
def test_evaluate_into_the_run_folder_is_refused_and_metrics_intact(tmp_path):
    from zoo.usecases.evaluate import evaluate

    run = fake_run(tmp_path / "run", finished=True, files=("model.keras",))  # Never loaded.
    before = (run / "metrics.json").read_bytes()
    with pytest.raises(ZooError, match="is the run folder itself"):
        evaluate(run, output_dir=run)
    other = fake_run(tmp_path / "other", finished=True)
    with pytest.raises(ZooError, match="holds a run"):
        evaluate(run, output_dir=other)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.txt").write_text("x")
    with pytest.raises(ZooError, match=r"files zoo did not write: a\.txt"):
        evaluate(run, output_dir=tmp_path / "mine")
    with pytest.raises(ZooError, match="lies in the run's own saved_model"):
        evaluate(run, output_dir=run / "saved_model")
    assert (run / "metrics.json").read_bytes() == before


@pytest.mark.parametrize("module", ["zoo.cli.evaluate", "zoo.cli.export"])
def test_unfinished_run_refused_by_evaluate_and_export_and_still_resumable(tmp_path, module):
    run = fake_run(tmp_path / "run", files=("model.keras",))
    args = [str(run)] + (["--format", "tflite"] if module.endswith("export") else [])
    out = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr[-2000:]
    assert "unfinished run" in out.stderr and "--allow-unfinished" in out.stderr
    assert not (run / "metrics.json").exists()
    assert claim(run) == (run, True)  # Still resumable.


def test_export_never_replaces_a_file_zoo_did_not_write(tmp_path):
    from zoo.usecases.export import reexport

    run = fake_run(tmp_path / "run", finished=True, files=("model.keras",))
    (run / "model.tflite").write_bytes(b"my own")
    with pytest.raises(ZooError, match="zoo did not write it"):
        reexport(run, "tflite")
    assert (run / "model.tflite").read_bytes() == b"my own"


def test_bad_evaluate_arguments_are_one_message(tmp_path):
    from zoo.usecases.evaluate import evaluate

    with pytest.raises(ZooError, match="No model at"):
        evaluate(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match=r"holds no model\.keras"):
        evaluate(tmp_path / "empty")
    (tmp_path / "m.keras").write_bytes(b"x")
    with pytest.raises(ZooError, match="not in a run directory; pass --recipe"):
        evaluate(tmp_path / "m.keras")
    with pytest.raises(ZooError, match=r"--recipe .*no such file"):
        evaluate(tmp_path / "m.keras", recipe=tmp_path / "nope.yaml")


def _fail_after_evaluation(recipe, folder: Path, reason: str) -> None:
    with RunDir.claim(recipe, folder) as run:
        run.start(recipe)
        run.set_status("evaluated")
        raise ZooError(reason)  # As the trainer's export step raises on a failed check.


def test_a_failure_after_the_first_write_leaves_the_run_failed_and_resumable(tmp_path):
    recipe = _recipe()
    reason = "Export check failed: keras differs from the trained model by 1.00e-01"
    with pytest.raises(ZooError, match="Export check failed"):
        _fail_after_evaluation(recipe, tmp_path / "run", reason)
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["stage"] == "failed" and status["reason"] == reason
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "run" / LOCK).exists()
    assert claim(tmp_path / "run") == (tmp_path / "run", True)  # The rerun resumes it.


# ------------------------------------------------------------------ model vs data (real model)
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A one-epoch MLP on 4x4 inputs with 3 classes, and a folder to put other data in."""
    import numpy as np

    from zoo import train_recipe

    folder = tmp_path_factory.mktemp("tiny")
    for name, shape, classes in (("tiny", (4, 4), 3), ("wide", (5, 5), 3), ("four", (4, 4), 4)):
        arrays = {}
        for split, n in (("train", 48), ("test", 24)):
            arrays[f"{split}_images"] = np.zeros((n, *shape), "float32")
            arrays[f"{split}_labels"] = (np.arange(n) % classes).astype("int64")
        np.savez(folder / f"{name}.npz", **arrays)
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nmodel: {{name: mlp, params: {{hidden_units: [4]}}}}\n"
            f"data: {{source: npz, path: {name}.npz, splits: {{train: train, validation: null,"
            " test: test}, shuffle_buffer: 0}\n"
            "training: {batch_size: 8, epochs: 1}\nexport: {keras: true, saved_model: false}\n"
        )
    result = train_recipe(folder / "tiny.yaml", output_dir=folder / "run", verbose=0)
    return folder, result.run_dir


def test_evaluate_says_which_of_shape_and_classes_differs_before_scoring(tiny_run, tmp_path):
    from zoo.usecases.evaluate import evaluate

    folder, run = tiny_run
    before = (run / "metrics.json").read_bytes()
    with pytest.raises(ZooError, match=r"takes inputs of shape \(4, 4\), the data gives \(5, 5\)"):
        evaluate(run, recipe=folder / "wide.yaml", output_dir=tmp_path / "a")
    with pytest.raises(ZooError, match="predicts 3 classes, the data has 4"):
        evaluate(run, recipe=folder / "four.yaml", output_dir=tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    result = evaluate(run, output_dir=tmp_path / "c")  # Its own recipe fits.
    assert json.loads((tmp_path / "c" / "metrics.json").read_text()) == result
    assert (run / "metrics.json").read_bytes() == before  # The run's own, untouched.
