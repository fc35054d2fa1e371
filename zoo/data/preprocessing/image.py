"""Image preprocessing (resize, rescale) and training-only augmentation.

Resize and rescale form the bundle's preprocessor, so they run in tf.data for training
and inside the exported model, which therefore takes raw images. Augmentation (random
flip, rotation, translation, zoom, pad-and-crop) is mapped over the training split only, before the
preprocessor, and hands back the raw dtype so the preprocessor sees one kind of input.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from zoo.data.bundle import DataBundle
from zoo.errors import DataError

if TYPE_CHECKING:
    from zoo.config.schema import Augment, ImageOptions


def preprocessor(options: ImageOptions, input_shape: tuple[int, ...], dtype: str, name: str):
    """A keras.Model resizing and rescaling raw images, or None when neither is asked."""
    import keras

    if options.resize is None and options.rescale is None:
        return None
    raw = keras.Input(shape=input_shape, dtype=dtype, name=name)
    x = keras.layers.Identity(dtype="float32", name="to_float")(raw)
    if options.resize is not None:
        x = keras.layers.Resizing(*options.resize, name="resize")(x)
    if options.rescale is not None:
        x = keras.layers.Rescaling(options.rescale, options.offset, name="rescale")(x)
    return keras.Model(raw, x, name="image_preprocessor")


def augmenter(augment: Augment, dtype: str, seed: int):
    """Batch → randomly augmented batch in the same dtype (integers rounded, clipped)."""
    import keras
    import tensorflow as tf

    layers: list[Any] = []
    if augment.flip:
        layers.append(keras.layers.RandomFlip(augment.flip, seed=seed))
    if augment.rotation:
        layers.append(keras.layers.RandomRotation(augment.rotation, seed=seed + 1))
    if augment.translation:
        t = augment.translation
        layers.append(keras.layers.RandomTranslation(t, t, seed=seed + 2))
    if augment.zoom:
        layers.append(keras.layers.RandomZoom(augment.zoom, seed=seed + 3))
    if not layers and not augment.crop:
        return None
    pipeline = keras.Sequential(layers, name="augment") if layers else None
    out_dtype = tf.as_dtype(dtype)

    def run(x):
        y = tf.cast(x, tf.float32)
        if pipeline is not None:
            y = pipeline(y, training=True)
        if augment.crop:
            y = pad_and_crop(y, augment.crop, seed=seed + 4)
        if out_dtype.is_integer:
            y = tf.clip_by_value(tf.round(y), out_dtype.min, out_dtype.max)
        return tf.cast(y, out_dtype)

    return run


def pad_and_crop(images, pad: int, *, seed: int):
    """(B, H, W, C) images zero-padded by `pad` on each side, then each cut back to H × W
    at its own random offset (0 to 2 × pad in each direction)."""
    import tensorflow as tf

    batch, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    dy = tf.random.uniform([batch, 1], 0, 2 * pad + 1, tf.int32, seed=seed)
    dx = tf.random.uniform([batch, 1], 0, 2 * pad + 1, tf.int32, seed=seed + 1)
    rows = tf.gather(padded, dy + tf.range(height)[tf.newaxis], axis=1, batch_dims=1)
    return tf.gather(rows, dx + tf.range(width)[tf.newaxis], axis=2, batch_dims=1)


def apply(options: ImageOptions, bundle: DataBundle, *, seed: int) -> DataBundle:
    """`bundle` with resize/rescale as its preprocessor and augmented training batches."""
    import tensorflow as tf

    info = bundle.info
    if len(info.input_shape) != 3 or info.input_dtype == "string":
        raise DataError(
            f"data.image applies to images (height, width, channels), but the input "
            f"{info.input_name!r} is {info.input_dtype} of shape {list(info.input_shape)} per "
            "example. Remove data.image, or read an image dataset."
        )
    if bundle.preprocessor is not None:
        raise DataError("data.image cannot be combined with another preprocessor of the source.")
    train = bundle.train
    augment = augmenter(options.augment, info.input_dtype, seed) if options.augment else None
    if augment is not None:
        train = train.map(lambda x, y: (augment(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        train = train.prefetch(tf.data.AUTOTUNE)
    pre = preprocessor(options, info.input_shape, info.input_dtype, info.input_name)
    model_inputs = dict(info.model_inputs)
    if options.resize is not None:
        model_inputs["input_shape"] = (*options.resize, info.input_shape[-1])
    info = dataclasses.replace(info, model_inputs=model_inputs)
    return dataclasses.replace(bundle, info=info, train=train, preprocessor=pre)
