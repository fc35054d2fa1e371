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
"""

from __future__ import annotations

import csv
import logging
import re
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger("zoo")

BACKUP_DIR = "backup"
_BACKUP_NAME = re.compile(r"^epoch-(\d{4,})\.weights\.h5$")


def is_unfinished(run_dir: Path) -> bool:
    """A zoo run directory whose run never got as far as writing `metrics.json`."""
    return (run_dir / "recipe.yaml").is_file() and not (run_dir / "metrics.json").exists()


def latest_unfinished(runs_dir: Path, recipe_name: str) -> Path | None:
    """The newest unfinished `runs_dir/<recipe_name>-<timestamp>[-n]`, if any."""
    pattern = re.compile(rf"^{re.escape(recipe_name)}-\d{{8}}-\d{{6}}(-\d+)?$")
    candidates = [
        p for p in runs_dir.glob(f"{recipe_name}-*") if pattern.match(p.name) and is_unfinished(p)
    ]
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)


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
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


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


def callback(restore_from: Path | None, save_to: Path | None) -> Any:
    """A Keras callback: restores the newest backup in `restore_from` (if any) at the start of
    `fit` (the model then starts at the epoch after it), and after each epoch writes one
    to `save_to` (None: never; multi-worker followers restore from the chief's backup
    and write nothing). It must run after the CSV logger at the end of an epoch."""
    import keras

    class Backup(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            epochs = backed_up_epochs(restore_from) if restore_from is not None else 0
            if restore_from is None or not epochs:
                return
            optimizer = self.model.optimizer
            if optimizer is not None and not optimizer.built:
                optimizer.build(self.model.trainable_variables)
            self.model.load_weights(str(_backup_file(restore_from, epochs)))
            self.model._initial_epoch = epochs  # What keras.callbacks.BackupAndRestore sets.
            log.info("resumed after epoch %d from %s", epochs, restore_from)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if save_to is None:
                return
            save_to.mkdir(parents=True, exist_ok=True)
            final = _backup_file(save_to, epoch + 1)
            tmp = save_to / f".tmp-{final.name}"  # Not matched as a backup until renamed.
            self.model.save_weights(str(tmp), overwrite=True)
            tmp.replace(final)
            for old in save_to.glob("epoch-*.weights.h5"):
                if old != final:
                    old.unlink(missing_ok=True)

    return Backup()
