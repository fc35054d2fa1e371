"""The tf.data steps every source shares: cache, shuffle, batch, prefetch.

Shuffling is bounded by memory, not by the dataset: `data.shuffle_buffer` examples are held
at once, so an example can only move within about that many places of its position in the
source's order. Multi-file sources (folders of files) therefore shuffle their file order
with the seed first, and single-file sources (CSV) split by a seeded hash of the row; with
a buffer smaller than the split, the order is random but not a uniform permutation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.data import cache as data_cache
from zoo.errors import ZooError

if TYPE_CHECKING:
    import tensorflow as tf


def _disk_cached(ds: tf.data.Dataset, store: data_cache.DiskCache, complete: bool):
    """`ds` cached at `store.prefix`; after a first full pass the store is marked complete
    (a sentinel element, filtered out, runs once tf.data has written its index)."""
    import tensorflow as tf

    ds = ds.cache(store.prefix)
    if complete:
        return ds
    spec = ds.element_spec

    def done(_):
        flag = tf.py_function(lambda: store.mark_complete() or True, [], tf.bool)
        with tf.control_dependencies([flag]):
            return tf.nest.map_structure(
                lambda s: tf.zeros([d if d is not None else 0 for d in s.shape], s.dtype), spec
            )

    sentinel = tf.data.Dataset.range(1).map(done).filter(lambda *_: tf.constant(False))
    return ds.concatenate(sentinel)


def cached(
    ds: tf.data.Dataset,
    config: Any,
    role: str,
    *,
    seed: int,
    size_bytes: int | None = None,
    version: Any = None,
) -> tf.data.Dataset:
    """`ds` cached as `data.cache` says (see zoo.data.cache); `size_bytes` estimates the
    decoded split, `version` identifies the data (e.g. file sizes and mtimes)."""
    mode = data_cache.choose(getattr(config, "cache", "auto"), size_bytes, role)
    if mode == "memory":
        return ds.cache()
    if mode == "disk":
        key = data_cache.data_key(config, seed, version)
        store = data_cache.DiskCache(data_cache.cache_root(config), key, role)
        complete = store.prepare(size_bytes)
        return ds if complete is None else _disk_cached(ds, store, complete)
    return ds


def finish(
    ds: tf.data.Dataset,
    *,
    batch_size: int,
    training: bool,
    shuffle_buffer: int,
    seed: int,
) -> tf.data.Dataset:
    """Decoded (already cached) examples → batches ready for `fit`.

    Caching comes before shuffling so each epoch reshuffles cached examples instead of
    re-reading files; the seed makes the order reproducible run to run.
    """
    import tensorflow as tf

    if training and shuffle_buffer > 1:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def finish_split(
    ds: tf.data.Dataset,
    config: Any,
    role: str,
    *,
    batch_size: int,
    seed: int,
    video: Any = None,
    size_bytes: int | None = None,
    version: Any = None,
    examples: int | None = None,
) -> tf.data.Dataset:
    """`finish` one split of a source with its data section's `cache` and `shuffle_buffer`.

    With a video plan (`zoo.data.preprocessing.video.plan`), clips that need sampling one
    by one are sampled before batching, and training batches are augmented after it.
    `size_bytes` and `version` feed the cache choice and key (`cached`); `examples`, the
    split's known example count, is asserted so Keras sees the epoch length even where
    filters (hash splits, the disk cache's sentinel) hide it from tf.data.
    """
    import tensorflow as tf

    training = role == "train"
    if video is not None and video.per_clip:
        ds = ds.map(video.per_clip, num_parallel_calls=tf.data.AUTOTUNE)
    ds = cached(ds, config, role, seed=seed, size_bytes=size_bytes, version=version)
    if examples is not None:
        ds = ds.apply(tf.data.experimental.assert_cardinality(examples))
    ds = finish(
        ds,
        batch_size=batch_size,
        training=training,
        shuffle_buffer=config.shuffle_buffer,
        seed=seed,
    )
    if training and video is not None and video.augment:
        ds = ds.map(video.augment, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def holds_memory_cache(ds: tf.data.Dataset) -> bool:
    """Whether `ds` reads through an in-memory `Dataset.cache()` (read off its graph)."""
    import tensorflow as tf
    from tensorflow.core.framework import graph_pb2

    graph = graph_pb2.GraphDef()
    serialised = tf.raw_ops.DatasetToGraphV2(
        input_dataset=ds._variant_tensor,  # tf.data offers no public view of its graph.
        external_state_policy=1,  # Ignore py_function state (the disk cache's sentinel).
    )
    graph.ParseFromString(serialised.numpy())
    nodes = {n.name: n for n in graph.node}
    for node in graph.node:
        if node.op.startswith("CacheDataset"):
            filename = nodes.get(node.input[1].split(":")[0])
            if filename is not None and filename.attr["value"].tensor.string_val == [b""]:
                return True
    return False


def complete_cache(iterator: Any, ds: tf.data.Dataset) -> None:
    """Read what is left of a pass that stopped early, when `ds` fills an in-memory cache
    (nothing read is kept): a half-read memory cache must never be what the next pass
    sees. Every bounded read of a split (the data check's sample, the export check's
    held-out examples) ends with this."""
    if holds_memory_cache(ds):
        for _ in iterator:
            pass


def head(ds: tf.data.Dataset | None, n: int, what: str = "held-out examples") -> tuple[Any, Any]:
    """(inputs, labels): the first `n` examples of a batched split, as numpy.

    Why not just stop reading: an in-memory `Dataset.cache()` that one iterator left half
    read can be taken as complete by the next pass, which then sees only the examples
    read so far (a re-export once scored its int8 model on 68 test examples, not 2,000).
    So when the split reads through a memory cache, the pass goes on to the end (without
    keeping what it reads) and the cache is complete for every later pass.
    """
    import numpy as np

    if ds is None:
        raise ZooError(f"The export check needs {what}, and the data has no such split.")
    xs, ys, count = [], [], 0
    iterator = iter(ds)
    for x, y in iterator:
        xs.append(x.numpy())
        ys.append(y.numpy())
        count += len(xs[-1])
        if count >= n:
            break
    if count >= n:
        complete_cache(iterator, ds)
    if not xs:
        raise ZooError(f"The export check needs {what}, and the split is empty.")
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]
