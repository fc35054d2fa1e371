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
