"""Crash-safe training: a per-epoch backup in the run directory, and resuming from it.

A run directory is *unfinished* while it has `recipe.yaml` but no `metrics.json` (the
trainer writes `metrics.json` last). During training the chief keeps the last completed
epoch in `RUN_DIR/backup/epoch-NNNN.weights.h5` (model and optimizer state, so the
learning-rate schedule continues where it stopped). Each backup is written under a
temporary name and renamed into place, so the newest complete file is always a whole
epoch: a SIGKILL at any moment loses at most the epoch in progress.

Running the same command again on an unfinished `--output-dir` (or `--resume` for the
newest unfinished `runs/<recipe>-*`) restores that state, cuts `history.csv` back to the
epochs the backup holds and continues, so every epoch appears in the history exactly once.
The backup is removed when the run finishes.

Each epoch's backup also holds the callbacks' state (`epoch-NNNN.json`: EarlyStopping's
wait/best/stopped epoch and its best weights, ReduceLROnPlateau's counters and the current
learning rate, the checkpoint's best value), restored after the callbacks reset
themselves at the start of `fit`, so patience counters continue instead of restarting.

When `fit` returns, `fitted.weights.h5` (the final weights, after early stopping restored
its best) and then `fitted.json` (the marker) are written. A rerun after a kill during
evaluation or export finds the marker, loads those weights and goes straight to
evaluation: no epoch is trained twice, also when early stopping ended fit early.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.fs import replace_atomically
from zoo.runs import layout
from zoo.runs.layout import BACKUP

if TYPE_CHECKING:
    import keras

log = logging.getLogger("zoo")

BACKUP_DIR = BACKUP
_BACKUP_NAME = re.compile(r"^epoch-(\d{4,})\.weights\.h5$")
FITTED_WEIGHTS = layout.FITTED_WEIGHTS
FITTED_MARKER = "fitted.json"


def backed_up_epochs(backup_dir: Path) -> int:
    """How many epochs the backup in `backup_dir` holds (0: none)."""
    found = [_BACKUP_NAME.match(p.name) for p in backup_dir.glob("epoch-*")]
    return max((int(m.group(1)) for m in found if m), default=0)


def _backup_file(backup_dir: Path, epochs: int) -> Path:
    return backup_dir / f"epoch-{epochs:04d}.weights.h5"


def read_history(path: Path) -> dict[str, list[float]]:
    """`history.csv` as Keras's `History.history` (column → values per epoch)."""
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    keys = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    # Keras's CSVLogger writes val_* columns of "NA" when there is no validation split.
    history = {k: [float(r[k]) for r in rows if r.get(k) not in (None, "", "NA")] for k in keys}
    return {k: values for k, values in history.items() if values}


def truncate_history(path: Path, epochs: int) -> None:
    """Keep only the rows of epochs 0..epochs-1 (rows a killed run wrote after its last
    backup would otherwise appear twice). Rewritten atomically."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        rows = [r for r in reader if int(r["epoch"]) < epochs]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    replace_atomically(path, text.getvalue())


def best_so_far(history: dict[str, list[float]], monitor: str, mode: str) -> float | None:
    """The best `monitor` value of the epochs already done, so the best checkpoint of a
    resumed run is only replaced by a better epoch."""
    values = history.get(monitor)
    if not values:
        return None
    if mode == "auto":
        mode = "max" if "acc" in monitor or monitor.endswith(("auc", "f1")) else "min"
    return max(values) if mode == "max" else min(values)


def remove_backup(run_dir: Path) -> None:
    shutil.rmtree(run_dir / BACKUP_DIR, ignore_errors=True)


def _state_file(backup_dir: Path, epochs: int) -> Path:
    return backup_dir / f"epoch-{epochs:04d}.json"


def read_state(backup_dir: Path, epochs: int) -> dict[str, Any]:
    """The callbacks' state saved with the backup of `epochs` ({} when none)."""
    try:
        data = json.loads(_state_file(backup_dir, epochs).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fitted(backup_dir: Path) -> dict[str, Any] | None:
    """The fit-finished marker ({"epochs", "seconds"[, "throughput"]}) when fit completed,
    else None."""
    try:
        data = json.loads((backup_dir / FITTED_MARKER).read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and (backup_dir / FITTED_WEIGHTS).is_file()
    return data if ok else None


def _restore_weights(model: keras.Model, path: Path) -> None:
    optimizer = model.optimizer
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    model.load_weights(str(path))


def mark_fitted(
    model: keras.Model,
    backup_dir: Path,
    epochs: int,
    seconds: float,
    throughput: dict[str, Any] | None = None,
) -> None:
    """Save the final weights, then the marker: fit never has to run again. The marker
    keeps fit's time and throughput record, for a run that goes on after a kill."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    tmp = backup_dir / f".tmp-{FITTED_WEIGHTS}"
    model.save_weights(str(tmp), overwrite=True)
    tmp.replace(backup_dir / FITTED_WEIGHTS)
    marker: dict[str, Any] = {"epochs": epochs, "seconds": seconds}
    if throughput:
        marker["throughput"] = throughput
    replace_atomically_json(backup_dir / FITTED_MARKER, marker)


def load_fitted(model: keras.Model, backup_dir: Path) -> None:
    """Load the weights `mark_fitted` saved into `model`."""
    _restore_weights(model, backup_dir / FITTED_WEIGHTS)


# Which attributes of which Keras callbacks carry state across epochs.
_STATE_FIELDS = {
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "cooldown_counter", "best"),
    "ModelCheckpoint": ("best",),
}


def _json_number(value: Any) -> Any:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def callback_state(callbacks: list[Any], model: keras.Model, backup_dir: Path) -> dict[str, Any]:
    """{class name: {field: value}} for the stateful callbacks; EarlyStopping's best
    weights go to `early-stopping-best-NNNN.npz` (one per best epoch, no pickle)."""
    import numpy as np

    state: dict[str, Any] = {}
    for cb in callbacks:
        name = type(cb).__name__
        fields = _STATE_FIELDS.get(name)
        if fields is None:
            continue
        entry = {f: _json_number(getattr(cb, f, None)) for f in fields}
        if name == "ReduceLROnPlateau" and _plain_lr(model) is not None:
            entry["learning_rate"] = _plain_lr(model)
        if name == "EarlyStopping" and getattr(cb, "best_weights", None) is not None:
            weights = backup_dir / f"early-stopping-best-{int(cb.best_epoch):04d}.npz"
            if not weights.is_file():
                tmp = backup_dir / f".tmp-{weights.stem}.npz"
                np.savez(tmp, *cb.best_weights)
                tmp.replace(weights)
            entry["best_weights"] = weights.name
        state[name] = entry
    state["stop_training"] = bool(getattr(model, "stop_training", False))
    return state


def _plain_lr(model: keras.Model) -> float | None:
    """The optimizer's learning rate when it is a plain value (not a schedule)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "_learning_rate"):
        return None
    import keras

    if isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return None
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def restore_callback_state(
    callbacks: list[Any], model: keras.Model, backup_dir: Path, state: dict[str, Any]
) -> None:
    """Put `callback_state`'s values back (after the callbacks reset in on_train_begin)."""
    import numpy as np

    for cb in callbacks:
        name = type(cb).__name__
        entry = state.get(name)
        if not isinstance(entry, dict):
            continue
        for field in _STATE_FIELDS[name]:
            value = entry.get(field)
            if value is not None:
                setattr(cb, field, int(value) if field != "best" else value)
        lr = entry.get("learning_rate") if name == "ReduceLROnPlateau" else None
        if lr is not None and _plain_lr(model) is not None:
            model.optimizer.learning_rate = lr
        if name == "EarlyStopping" and entry.get("best_weights"):
            path = backup_dir / str(entry["best_weights"])
            if path.is_file():
                with np.load(path, allow_pickle=False) as saved:
                    cb.best_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    log.info(
        "restored the callbacks' state: %s", {k: v for k, v in state.items() if k in _STATE_FIELDS}
    )


def callback(
    restore_from: Path | None, save_to: Path | None, stateful: list[Any] | tuple[Any, ...] = ()
) -> Any:
    """A Keras callback: restores the newest backup in `restore_from` (if any) at the start of
    `fit` (the model then starts at the epoch after it), and after each epoch writes one
    to `save_to` (None: never; multi-worker followers restore from the chief's backup
    and write nothing). `stateful` are the callbacks whose state goes with the backup.
    It must come after them and after the CSV logger in the callback list."""
    import keras

    class Backup(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            epochs = backed_up_epochs(restore_from) if restore_from is not None else 0
            if restore_from is None or not epochs:
                return
            _restore_weights(self.model, _backup_file(restore_from, epochs))
            self.model._initial_epoch = epochs  # What keras.callbacks.BackupAndRestore sets.
            state = read_state(restore_from, epochs)
            if state:
                restore_callback_state(list(stateful), self.model, restore_from, state)
            log.info("resumed after epoch %d from %s", epochs, restore_from)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if save_to is None:
                return
            save_to.mkdir(parents=True, exist_ok=True)
            # The state first: an epoch counts as backed up once its weights file exists.
            state = callback_state(list(stateful), self.model, save_to)
            replace_atomically_json(_state_file(save_to, epoch + 1), state)
            final = _backup_file(save_to, epoch + 1)
            tmp = save_to / f".tmp-{final.name}"  # Not matched as a backup until renamed.
            self.model.save_weights(str(tmp), overwrite=True)
            tmp.replace(final)
            keep = {final.name, _state_file(save_to, epoch + 1).name}
            keep.update(
                str(e["best_weights"])
                for e in state.values()
                if isinstance(e, dict) and e.get("best_weights")
            )
            for old in save_to.iterdir():
                ours = old.name.startswith(("epoch-", "early-stopping-best-"))
                if ours and old.name not in keep:
                    old.unlink(missing_ok=True)

    return Backup()


def finish_stopped(model: keras.Model, backup_dir: Path) -> int | None:
    """When the newest backup was taken as early stopping ended fit (killed before the
    fit-finished marker), load its weights (and early stopping's best ones) and return
    its epoch count: fit is over. None otherwise."""
    import numpy as np

    epochs = backed_up_epochs(backup_dir)
    state = read_state(backup_dir, epochs) if epochs else {}
    if not state.get("stop_training"):
        return None
    _restore_weights(model, _backup_file(backup_dir, epochs))
    best = (state.get("EarlyStopping") or {}).get("best_weights")
    if best and (backup_dir / str(best)).is_file():
        with np.load(backup_dir / str(best), allow_pickle=False) as saved:
            model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
    return epochs


def replace_atomically_json(path: Path, data: Any) -> None:
    replace_atomically(path, json.dumps(data) + "\n")
