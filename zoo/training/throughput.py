"""Training throughput: training examples per second over `fit`, the first epoch left out.

Why leave the first epoch out: it pays one-off costs that later epochs do not: tracing
(with XLA, compiling) the train step, filling the tf.data cache (every file read and
decoded once), warming the file system and the allocator. On a small dataset these can
cost more than the epoch itself. The figure says what another epoch costs and compares
machines, so it is the steady state: the epochs after the first one this process ran. A
fit with a single epoch in this process (a one-epoch recipe, a resumed run with one epoch
left) has nothing else; that epoch is used, and the record says so
(`first_epoch_excluded: false`).

Each epoch is timed from its start to the start of its validation (to its end when there
is none), so validation, zoo's per-epoch scoring, the checkpoint and the backup are not
counted: the callback goes first in the list, before the callbacks that do that work at
the epoch's end. Examples per epoch: the training split's size, or steps × global batch
when the steps are fixed (`training.steps_per_epoch`, a cluster's whole global batches).
Keras is imported inside the factory, so importing this module stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any


def examples_per_epoch(train_examples: int, batch: int, steps: int | None) -> int:
    """Training examples one epoch feeds the model: `steps` × `batch` when the steps are
    fixed, else the whole training split."""
    return steps * batch if steps else train_examples


def summary(seconds: list[float], examples: int) -> dict[str, Any] | None:
    """The record of one fit's epoch times (this process's epochs, in order); None when
    no epoch finished."""
    if not seconds or examples <= 0:
        return None
    timed = seconds[1:] if len(seconds) > 1 else seconds
    total = sum(timed)
    if total <= 0:
        return None
    return {
        "examples_per_second": round(examples * len(timed) / total, 1),
        "epochs_timed": len(timed),
        "first_epoch_excluded": len(seconds) > 1,
        "examples_per_epoch": examples,
        "seconds_timed": round(total, 3),
    }


def timer(examples: int) -> Any:
    """A Keras callback timing each epoch's training steps; `.record()` is `summary`."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._start: float | None = None

        def _stop(self) -> None:
            if self._start is not None:
                self.seconds.append(time.perf_counter() - self._start)
                self._start = None

        def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            self._start = time.perf_counter()

        def on_test_begin(self, logs: Mapping[str, Any] | None = None) -> None:
            self._stop()  # Validation inside fit; evaluate() outside fit never started one.

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            self._stop()

        def record(self) -> dict[str, Any] | None:
            return summary(self.seconds, examples)

    return EpochTimer()
