"""Mirrored training against one device, and kill-and-resume, each in fresh processes.

Both compare with one uninterrupted single-device run of the same recipe (`plain_run`).
Logical CPU devices must be set before TensorFlow starts, hence subprocesses throughout.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SMALL_MNIST
from zoo import load_recipe
from zoo.errors import ZooError
from zoo.runs.folder import RunDir
from zoo.training.resume import backed_up_epochs, best_so_far, read_history, truncate_history

EPOCHS = 3
ARGS = [
    "recipes/mnist_cnn.yaml",
    "-q",
    *[a for s in (*SMALL_MNIST, f"training.epochs={EPOCHS}") for a in ("--set", s)],
]


def train_cmd(run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "zoo.train", *ARGS, "--output-dir", str(run_dir), *extra]


def train(run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        train_cmd(run_dir, *extra), cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def epochs_in(run_dir: Path) -> list[int]:
    return [int(r["epoch"]) for r in csv.DictReader((run_dir / "history.csv").open())]


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture(scope="module")
def plain_run(mnist_ready, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("plain") / "run"
    train(run_dir)
    return run_dir


@pytest.mark.slow
def test_mirrored_over_two_cpu_devices_matches_one_device(plain_run, tmp_path):
    out = train(
        tmp_path / "run", "--set", "distribution.strategy=mirrored", "--set",
        "distribution.cpu_devices=2",
    )  # fmt: skip
    assert "MirroredStrategy with 2 replica(s)" in out.stderr
    assert "global batch 64 (32 per replica)" in out.stderr
    one, two = read_history(plain_run / "history.csv"), read_history(tmp_path / "run/history.csv")
    assert len(two["loss"]) == EPOCHS and two["loss"][-1] < 0.3 * two["loss"][0]  # It learns,
    assert two["loss"] == pytest.approx(one["loss"], rel=0.03)  # the same curve as one device.
    test_one, test_two = metrics(plain_run)["test"], metrics(tmp_path / "run")["test"]
    assert min(test_one["accuracy"], test_two["accuracy"]) > 0.9  # Chance: 0.10.
    assert test_two["accuracy"] == pytest.approx(test_one["accuracy"], abs=0.05)


@pytest.mark.slow
def test_run_killed_mid_epoch_resumes_from_its_last_epoch(plain_run, tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        train_cmd(run_dir), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while not backed_up_epochs(run_dir / "backup"):  # Epoch 1 done: kill inside epoch 2.
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_after = backed_up_epochs(run_dir / "backup")
    assert 1 <= killed_after < EPOCHS
    assert not (run_dir / "metrics.json").exists()  # Unfinished, so resumable.

    out = train(run_dir)  # The same command again.
    assert f"resuming {run_dir} after epoch {killed_after} of {EPOCHS}" in out.stderr
    assert epochs_in(run_dir) == list(range(EPOCHS))  # Every epoch once: no gap, no repeat.
    done = metrics(run_dir)
    assert done["training"]["epochs"] == EPOCHS
    assert done["training"]["resumed_after_epoch"] == killed_after
    assert not (run_dir / "backup").exists()
    assert (run_dir / "checkpoints" / "best.keras").is_file()
    assert done["export"]["saved_model"]["ok"]
    # The same result as the uninterrupted run, within the noise of a reshuffled epoch.
    assert done["test"]["accuracy"] == pytest.approx(
        metrics(plain_run)["test"]["accuracy"], abs=0.03
    )
    assert done["test"]["accuracy"] > 0.9


def _recipe(*extra: str):
    return load_recipe(REPO / "recipes" / "mnist_cnn.yaml", [*SMALL_MNIST, *extra])


def choose_run_dir(recipe, output_dir, overwrite, resume=False, *, writer=True, runs_dir=None):
    """(folder, resuming) as RunDir decides it; the claim is released at once."""
    with RunDir.claim(
        recipe, output_dir, overwrite=overwrite, resume=resume, chief=writer, runs_dir=runs_dir
    ) as run:
        return run.path, run.resuming


def fake_run(folder: Path, recipe, *, finished: bool = False) -> Path:
    """A zoo run folder as the trainer leaves it (manifest, recipe.yaml[, metrics.json]),
    written through RunDir itself: no training needed."""
    with RunDir.claim(recipe, folder, overwrite=True) as run:
        run.start(recipe)
        if finished:
            run.finish({"test": {"accuracy": 0.5}})
    return folder


def test_unfinished_output_dir_is_resumed_and_finished_one_refused(tmp_path):
    recipe = _recipe()
    assert choose_run_dir(recipe, tmp_path / "new", False) == (tmp_path / "new", False)
    fake_run(tmp_path / "run", recipe)
    run = tmp_path / "run"
    assert choose_run_dir(recipe, run, False) == (run, True)
    assert choose_run_dir(recipe, run, False, resume=True) == (run, True)
    assert choose_run_dir(recipe, run, True) == (run, False)  # --overwrite: afresh.
    with pytest.raises(ZooError, match="unfinished run of a different recipe"):
        choose_run_dir(_recipe("training.epochs=9"), run, False)
    with pytest.raises(ZooError, match="pass one of them"):
        choose_run_dir(recipe, run, True, resume=True)
    fake_run(run, recipe, finished=True)
    with pytest.raises(ZooError, match="holds a finished run of recipe mnist_cnn"):
        choose_run_dir(recipe, run, False)
    with pytest.raises(ZooError, match="holds no unfinished run"):
        choose_run_dir(recipe, run, False, resume=True)
    # Multi-worker followers never write the run directory, so never refuse it.
    assert choose_run_dir(recipe, run, False, writer=False) == (run, False)


def test_resume_finds_the_newest_unfinished_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = _recipe()
    with pytest.raises(ZooError, match="no unfinished run of mnist_cnn under runs"):
        choose_run_dir(recipe, None, False, resume=True)
    for name, finished in [
        ("mnist_cnn-20250101-000000", False),
        ("mnist_cnn-20250102-000000", True),
    ]:
        fake_run(tmp_path / "runs" / name, recipe, finished=finished)
    found, resuming = choose_run_dir(recipe, None, False, resume=True)
    assert (found.name, resuming) == ("mnist_cnn-20250101-000000", True)


def test_history_is_cut_back_to_the_backed_up_epochs(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_accuracy\n0,2.0,0.5\n1,1.0,0.8\n2,0.5,0.7\n")
    truncate_history(path, 2)
    assert read_history(path) == {"loss": [2.0, 1.0], "val_accuracy": [0.5, 0.8]}
    assert best_so_far(read_history(path), "val_accuracy", "auto") == 0.8
    assert best_so_far(read_history(path), "loss", "min") == 1.0
    (tmp_path / "backup").mkdir()
    for name in ("epoch-0002.weights.h5", ".tmp-epoch-0003.weights.h5"):
        (tmp_path / "backup" / name).write_bytes(b"")
    assert backed_up_epochs(tmp_path / "backup") == 2  # A half-written backup never counts.
    # Keras's CSVLogger fills val_* with "NA" when a run has no validation split.
    path.write_text("epoch,loss,val_loss\n0,2.0,NA\n1,1.0,NA\n")
    assert read_history(path) == {"loss": [2.0, 1.0]}


def test_resume_without_an_unfinished_run_exits_2(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "zoo.train", str(REPO / ARGS[0]), *ARGS[1:], "--resume"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 2 and "no unfinished run of mnist_cnn" in out.stderr
    assert "Traceback" not in out.stderr


# ---------------------------------------------------------------- complete resume (tiny data)
TINY_RECIPE = """\
name: tiny
seed: 1
model: {name: mlp, params: {hidden_units: [16]}}
data:
  source: npz
  path: tiny.npz
  splits: {train: train, validation: val, test: test}
  shuffle_buffer: 0
  cache: true
training:
  batch_size: 8
  epochs: 4
  optimizer: {name: adam, learning_rate: 0.01}
evaluation: {splits: [test]}
export: {keras: true, saved_model: false}
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A folder with tiny.npz (4x4 float inputs, 3 classes; a large test split so that
    evaluation lasts long enough to be killed in) and tiny.yaml."""
    import numpy as np

    folder = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 1600), ("val", 160), ("test", 6000)):
        labels = np.arange(n) % 3
        arrays[f"{split}_images"] = (rng.normal(size=(n, 4, 4)) + labels[:, None, None]).astype(
            "float32"
        )
        arrays[f"{split}_labels"] = labels.astype("int64")
    np.savez(folder / "tiny.npz", **arrays)
    (folder / "tiny.yaml").write_text(TINY_RECIPE)
    return folder


def tiny_cmd(tiny: Path, run_dir: Path, *sets: str) -> list[str]:
    extra = [a for s in sets for a in ("--set", s)]
    return [sys.executable, "-m", "zoo.train", str(tiny / "tiny.yaml"), "-q", *extra,
            "--output-dir", str(run_dir)]  # fmt: skip


def stage(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "status.json").read_text()).get("stage")
    except (OSError, ValueError):
        return None


def kill_when(cmd: list[str], ready, timeout: float = 300) -> None:
    """Start `cmd`, SIGKILL it as soon as `ready()` holds (checked every 5 ms)."""
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "finished before the stage to kill in"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def rerun(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def assert_complete(run_dir: Path, epochs: int) -> dict:
    assert epochs_in(run_dir) == list(range(epochs))  # Each epoch once.
    done = metrics(run_dir)
    assert done["training"]["epochs"] == epochs and "test" in done
    assert stage(run_dir) == "finished" and not (run_dir / "backup").exists()
    assert not (run_dir / ".zoo-lock").exists()
    return done


@pytest.mark.slow
@pytest.mark.parametrize(
    "during, ready_stage",
    [("fit", "training"), ("evaluation", "fitted"), ("export", "evaluated")],
)
def test_kill_at_any_stage_then_the_same_command_completes(tiny, tmp_path, during, ready_stage):
    run_dir = tmp_path / "run"
    cmd = tiny_cmd(tiny, run_dir)
    if during == "fit":
        kill_when(cmd, lambda: backed_up_epochs(run_dir / "backup") >= 1)
    else:
        kill_when(cmd, lambda: stage(run_dir) == ready_stage)
    assert stage(run_dir) == ready_stage and not (run_dir / "metrics.json").exists()
    out = rerun(cmd)
    if during != "fit":  # Straight to evaluation: no epoch trained again.
        assert "had finished after 4 epochs: evaluating" in out.stderr
        assert "Epoch " not in out.stdout + out.stderr
    done = assert_complete(run_dir, 4)
    # The throughput measured by the process that ran fit, kept in the fitted marker;
    # a resumed fit times the epochs it ran itself.
    assert done["training"]["examples_per_second"] > 0
    if during != "fit":
        assert done["training"]["throughput"]["epochs_timed"] == 3  # 4, the first left out.


@pytest.mark.slow
def test_early_stopped_run_killed_before_metrics_trains_no_more_epochs(tiny, tmp_path):
    run_dir = tmp_path / "run"
    # min_delta 10: no epoch after the first improves, so patience 1 stops after epoch 2.
    cmd = tiny_cmd(
        tiny, run_dir, "training.epochs=20",
        "training.callbacks.early_stopping={patience: 1, min_delta: 10}",
    )  # fmt: skip
    kill_when(cmd, lambda: stage(run_dir) == "evaluated")  # During export.
    assert epochs_in(run_dir) == [0, 1]
    out = rerun(cmd)
    assert "had finished after 2 epochs" in out.stderr
    assert_complete(run_dir, 2)


@pytest.mark.slow
def test_early_stopping_counter_survives_a_resume(tiny, tmp_path):
    run_dir = tmp_path / "run"
    # Patience 3, nothing improves after epoch 1: fit stops after epoch 4 (index 3). A
    # counter restarted by the resume would train two epochs more.
    cmd = tiny_cmd(
        tiny, run_dir, "training.epochs=20",
        "training.callbacks.early_stopping={patience: 3, min_delta: 10}",
    )  # fmt: skip
    kill_when(cmd, lambda: backed_up_epochs(run_dir / "backup") >= 2)
    killed_after = backed_up_epochs(run_dir / "backup")
    assert killed_after < 4 and stage(run_dir) == "training"
    out = rerun(cmd)
    assert "restored the callbacks' state" in out.stderr
    assert_complete(run_dir, 4)


def test_callback_state_round_trips_after_the_callbacks_reset(tmp_path):
    import keras
    import numpy as np

    from zoo.training.resume import callback_state, restore_callback_state

    def setup():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        model.optimizer.build(model.trainable_variables)
        callbacks = [
            keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(patience=2, cooldown=3),
            keras.callbacks.ModelCheckpoint(str(tmp_path / "b.keras"), save_best_only=True),
        ]
        for cb in callbacks:
            cb.set_model(model)
        return model, callbacks

    model, (es, plateau, checkpoint) = setup()
    es.wait, es.best, es.best_epoch, es.stopped_epoch = 3, 0.25, 4, 0
    es.best_weights = [w * 0 + 7 for w in model.get_weights()]
    plateau.wait, plateau.cooldown_counter, plateau.best = 1, 2, 0.5
    checkpoint.best = 0.125
    model.optimizer.learning_rate = 0.0025
    state = json.loads(json.dumps(callback_state([es, plateau, checkpoint], model, tmp_path)))

    model2, callbacks2 = setup()
    for cb in callbacks2:
        cb.on_train_begin()  # What fit does first: the counters reset.
    restore_callback_state(callbacks2, model2, tmp_path, state)
    es2, plateau2, checkpoint2 = callbacks2
    assert (es2.wait, es2.best, es2.best_epoch) == (3, 0.25, 4)
    assert all(np.all(w == 7) for w in es2.best_weights)
    assert (plateau2.wait, plateau2.cooldown_counter, plateau2.best) == (1, 2, 0.5)
    assert checkpoint2.best == 0.125
    assert float(model2.optimizer.learning_rate) == pytest.approx(0.0025)
