"""Two narrow work-arounds that let Keras 3 `Model.fit` run under MultiWorkerMirroredStrategy.

On TensorFlow 2.21 / Keras 3 (keras-team/keras issue 20585) `fit` fails twice under a
multi-worker `MultiWorkerMirroredStrategy`:

1. Symbolic build. Before the first step Keras takes one distributed batch and reduces
   it with `strategy.reduce("MEAN", batch, axis=None)` only to learn its shapes and
   dtypes. Under multi-worker that reduction goes through collective ops, which cannot
   take a `PerReplica` batch (uint8 images, int labels): "Attempt to convert a value
   (PerReplica...) with an unsupported type". Shapes and dtypes are all the build needs,
   and this replica's own share of the batch has them, so we hand Keras that instead.
2. Scalar metrics. `reduce_per_replica(..., "mean")` reduces each step's logs with
   `strategy.reduce("MEAN", v, axis=0)` under multi-worker, but loss and metric results
   are rank-0 tensors, which have no axis 0. For rank-0 values we reduce with
   `axis=None` (the mean over replicas, what Keras means); everything else is untouched.

Both fixes are applied by `patched(model, strategy)` around `fit`, only when the
strategy really spans several workers, and undone afterwards. tests/test_multi_worker.py
runs a two-worker cluster without each fix and expects the failure, so when Keras fixes
either bug upstream that test fails and tells us to delete the fix.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

log = logging.getLogger("zoo")

# Keras minor versions these fixes were tested against (tests/test_multi_worker.py).
# setup.cfg's keras range matches; on any other minor `patched` warns once.
TESTED_KERAS_MINORS: frozenset[tuple[int, int]] = frozenset({(3, 15)})


def keras_warning(version: str) -> str | None:
    """The one-line warning for a Keras `version` outside TESTED_KERAS_MINORS, else None."""
    try:
        minor = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        minor = ()
    if minor in TESTED_KERAS_MINORS:
        return None
    tested = ", ".join(f"{a}.{b}" for a, b in sorted(TESTED_KERAS_MINORS))
    return (
        f"Keras {version} is untested with zoo's multi-worker work-arounds (tested: {tested}); "
        "if fit fails under MultiWorkerMirroredStrategy, install a tested Keras."
    )


@functools.cache
def _warn_once_for_keras() -> None:
    import keras

    message = keras_warning(keras.__version__)
    if message:
        log.warning(message)


def needed(strategy: Any) -> bool:
    """True for a MultiWorkerMirroredStrategy whose cluster has more than one worker."""
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def _local_batch(strategy: Any, batch: Any) -> Any:
    """This replica's part of a distributed batch: same dtypes and per-example shapes."""
    import keras
    import tensorflow as tf

    def local(value: Any) -> Any:
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    return keras.tree.map_structure(local, batch)


@contextlib.contextmanager
def _symbolic_build_from_local_batch(model: keras.Model, strategy: Any) -> Iterator[None]:
    original = model._maybe_symbolic_build

    def build(iterator: Any = None, data_batch: Any = None) -> Any:
        if iterator is not None and data_batch is None:
            for _, _, batches in iterator:
                data_batch = _local_batch(strategy, next(batches))
                break
            else:
                return original(iterator=iterator)
        return original(data_batch=data_batch)

    model._maybe_symbolic_build = build  # An instance attribute shadows the method.
    try:
        yield
    finally:
        del model._maybe_symbolic_build


@contextlib.contextmanager
def _scalar_mean_over_replicas() -> Iterator[None]:
    import keras
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction not in ("auto", "mean") or not needed(strategy):
            return original(values, strategy, reduction)

        def one(value: Any) -> Any:
            first = strategy.experimental_local_results(value)[0]
            if getattr(first, "shape", None) is not None and first.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original(value, strategy, reduction)

        return keras.tree.map_structure(one, values)

    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original


@contextlib.contextmanager
def patched(
    model: keras.Model, strategy: Any, *, symbolic_build: bool = True, scalar_mean: bool = True
) -> Iterator[None]:
    """Apply the fixes (see the module docstring) for the duration of the block, only
    under multi-worker training. The keyword switches exist so the test can show that
    each fix is still needed."""
    if not needed(strategy):
        yield
        return
    _warn_once_for_keras()
    with contextlib.ExitStack() as stack:
        if symbolic_build:
            stack.enter_context(_symbolic_build_from_local_batch(model, strategy))
        if scalar_mean:
            stack.enter_context(_scalar_mean_over_replicas())
        yield
