"""Video clips → model input: frame sampling, resize, rescale, channel axis, augmentation.

Deterministic steps form one Keras layer, `VideoPreprocess` (in zoo/models/layers.py),
returned as the bundle's preprocessor: the trainer maps it over the splits for fitting
and puts it in front of the model for evaluation and export, so exported video models
take raw uint8 clips.
Augmentation (flip, crop, time jitter) is a separate batch function for the training
pipeline only. Everything is vectorised tf ops over the batch, no Python per clip.

Sources call `plan(options, raw_shape)` once and apply its parts (see `VideoPlan`).
Imported lazily (it imports Keras): the CLI's `--help` must not load TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from zoo.errors import DataError
from zoo.models.layers import VideoPreprocess, sample_indices

if TYPE_CHECKING:
    from zoo.config.schema import VideoAugment, VideoOptions

Shape = tuple[int | None, ...]


def augmenter(options: VideoAugment, seed: int) -> Callable[[Any, Any], tuple[Any, Any]] | None:
    """(raw clip batch, labels) → randomly changed batch, for the training split only.

    One draw per clip, the same for all its frames. Works on (B, T, H, W[, C]).
    """
    if not (options.flip or options.crop or options.time_jitter):
        return None

    def augment(x, y):
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        if options.time_jitter:
            j = options.time_jitter
            shift = tf.random.uniform([batch], -j, j + 1, tf.int32, seed=seed)
            idx = tf.clip_by_value(
                tf.range(length)[tf.newaxis] + shift[:, tf.newaxis], 0, length - 1
            )
            x = tf.gather(x, idx, axis=1, batch_dims=1)
        if options.crop:
            n = options.crop
            height, width = tf.shape(x)[2], tf.shape(x)[3]
            pads = [[0, 0], [0, 0], [n, n], [n, n]] + [[0, 0]] * (len(x.shape) - 4)
            x = tf.pad(x, pads)
            dy = tf.random.uniform([batch, 1], 0, 2 * n + 1, tf.int32, seed=seed + 1)
            dx = tf.random.uniform([batch, 1], 0, 2 * n + 1, tf.int32, seed=seed + 2)
            x = tf.gather(x, dy + tf.range(height)[tf.newaxis], axis=2, batch_dims=1)
            x = tf.gather(x, dx + tf.range(width)[tf.newaxis], axis=3, batch_dims=1)
        if options.flip:
            flip = tf.random.uniform([batch], seed=seed + 3) < 0.5
            flip = tf.reshape(flip, [-1] + [1] * (len(x.shape) - 1))
            x = tf.where(flip, tf.reverse(x, axis=[3]), x)
        return x, y

    return augment


@dataclass(frozen=True)
class VideoPlan:
    """How a source applies `VideoOptions` to clips of one raw shape.

    `per_clip`: map over single (clip, label) examples before batching, or None; set
    only for clips of varying length, which it samples to a fixed count so they batch.
    `augment`: map over training batches, or None. `preprocessor`: the bundle's layer.
    `served_shape`: one raw clip as the exported model takes it (DataInfo.input_shape);
    `model_shape`: one clip as the model sees it (builder `input_shape`).
    """

    per_clip: Callable[[Any, Any], tuple[Any, Any]] | None
    augment: Callable[[Any, Any], tuple[Any, Any]] | None
    preprocessor: VideoPreprocess
    served_shape: tuple[int, ...]
    model_shape: tuple[int, ...]


def plan(options: VideoOptions, raw_shape: Shape, *, seed: int, field: str = "data") -> VideoPlan:
    """The video steps for clips shaped `raw_shape` (T, H, W[, C]); a DataError names
    `field` when the clips cannot be handled as asked."""
    if len(raw_shape) not in (3, 4):
        raise DataError(
            f"{field}.video needs clips shaped (frames, height, width[, channels]); these "
            f"examples are shaped {tuple(raw_shape)}. Remove data.video, or point the source "
            "at video data."
        )
    if None in raw_shape[1:3] and options.resize is None:
        raise DataError(
            f"{field}: frames vary in size {tuple(raw_shape)}; set data.video.resize "
            "[height, width] so they can be batched."
        )
    per_clip = None
    frames, stride = options.frames, options.stride
    length = raw_shape[0]
    if length is None:  # Varying length: sample per clip so clips batch together.
        if frames is None:
            raise DataError(
                f"{field}: clips vary in length; set data.video.frames to sample a fixed count."
            )
        count, step = frames, stride

        def per_clip(x, y):
            return tf.gather(x, sample_indices(tf.shape(x)[0], count, step), axis=0), y

        length, frames, stride = frames, None, 1
    served = (length, *raw_shape[1:])
    layer = VideoPreprocess(
        frames=frames,
        stride=stride,
        resize=options.resize,
        rescale=options.rescale,
        add_channel_axis=len(raw_shape) == 3,
        name="video_preprocess",
    )
    model_shape = layer.compute_output_shape((None, *served))[1:]
    if None in model_shape:
        raise DataError(f"{field}: cannot tell the model's clip shape from {tuple(raw_shape)}.")
    augment = augmenter(options.augment, seed) if options.augment else None
    return VideoPlan(per_clip, augment, layer, tuple(served), tuple(int(d) for d in model_shape))
