"""The tf.data steps every source shares: cache, shuffle, batch, prefetch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tensorflow as tf


def finish(
    ds: tf.data.Dataset,
    *,
    batch_size: int,
    training: bool,
    cache: bool,
    shuffle_buffer: int,
    seed: int,
) -> tf.data.Dataset:
    """Decoded examples → batches ready for `fit`.

    Caching comes before shuffling so each epoch reshuffles cached examples instead of
    re-reading files; the seed makes the order reproducible run to run.
    """
    import tensorflow as tf

    if cache:
        ds = ds.cache()
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
) -> tf.data.Dataset:
    """`finish` one split of a source with its data section's `cache` and `shuffle_buffer`.

    With a video plan (`zoo.data.preprocessing.video.plan`), clips that need sampling one
    by one are sampled before batching, and training batches are augmented after it.
    """
    import tensorflow as tf

    training = role == "train"
    if video is not None and video.per_clip:
        ds = ds.map(video.per_clip, num_parallel_calls=tf.data.AUTOTUNE)
    ds = finish(
        ds,
        batch_size=batch_size,
        training=training,
        cache=config.cache,
        shuffle_buffer=config.shuffle_buffer,
        seed=seed,
    )
    if training and video is not None and video.augment:
        ds = ds.map(video.augment, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds
