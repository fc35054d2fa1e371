"""The tf.data steps every source shares: cache, shuffle, batch, prefetch."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
