"""zoo's own Keras layers, in one module that registers them with Keras on import.

Each is a serializable `keras.layers.Layer` (`package="zoo"`), so `.keras` files holding
one load with `keras.saving.load_model` in safe mode once this module is imported.
`import zoo` does not import it (that would import TensorFlow); instead it arranges
(zoo/models/registration.py) for this module to be imported right after Keras is, so
`import zoo` then `keras.saving.load_model(...)` works. Importing this module directly
is always enough too. TensorFlow is imported inside the layers' methods, so this module
can load while TensorFlow itself is still importing Keras.
"""

from __future__ import annotations

from typing import Any

import keras

# Markup tags such as `<br />`.
MARKUP = r"<[^>]*>"
# Characters Python's str.splitlines() breaks lines at, beyond the ASCII whitespace that
# TextVectorization splits words on. A token holding one (IMDB has U+0085) would not
# survive the vocabulary file Keras writes into `.keras` archives, so they become spaces.
LINE_BREAKS = r"[\x{0b}\x{0c}\x{1c}-\x{1e}\x{85}\x{2028}\x{2029}]"

Shape = tuple[int | None, ...]


@keras.saving.register_keras_serializable(package="zoo")
class CleanText(keras.layers.Layer):
    """Turns line-break characters into spaces and, with `strip_markup`, replaces
    markup tags (`<br />`, `<p>`) by a space."""

    def __init__(self, strip_markup: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strip_markup = strip_markup
        self._convert_input_args = False  # Strings stay strings.
        self._allow_non_tensor_positional_args = True

    def call(self, inputs):
        import tensorflow as tf

        text = tf.strings.regex_replace(inputs, LINE_BREAKS, " ")
        if self.strip_markup:
            text = tf.strings.regex_replace(text, MARKUP, " ")
        return text

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="string")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "strip_markup": self.strip_markup}


@keras.saving.register_keras_serializable(package="zoo")
class KeepEnds(keras.layers.Layer):
    """Cuts token ids (B, N), padded with 0 at the end as `TextVectorization` gives them,
    to (B, `length`): a text that fits is padded; a longer one keeps its first `head`
    tokens and its last `length - head` ones, instead of losing its end. The
    `data.text.truncate: middle` of `zoo.data.preprocessing.text` (head + tail
    truncation, Sun et al. 2019, "How to Fine-Tune BERT for Text Classification?").
    Hand-written: Keras' `TextVectorization` only cuts the end off."""

    def __init__(self, length: int = 256, head: int = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= head <= length:
            raise ValueError(f"KeepEnds: head {head} must be within 0..length ({length})")
        self.length, self.head = int(length), int(head)

    def call(self, tokens):
        ops = keras.ops
        tokens = ops.pad(tokens, [[0, 0], [0, self.length]])  # Every row ≥ length wide.
        count = ops.sum(ops.cast(ops.not_equal(tokens, 0), "int32"), axis=1, keepdims=True)
        position = ops.expand_dims(ops.arange(self.length, dtype="int32"), 0)
        from_end = position - self.length + count  # The last `length - head` tokens.
        cut = ops.logical_and(count > self.length, position >= self.head)
        return ops.take_along_axis(tokens, ops.where(cut, from_end, position), axis=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.length)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "length": self.length, "head": self.head}


@keras.saving.register_keras_serializable(package="zoo")
class ToFloat(keras.layers.Layer):
    """Casts its input to float32, keeping a sparse tensor sparse (a bag of n-grams from
    `TextVectorization(sparse=True)`). Hand-written because Keras' Rescaling, the usual
    cast, densifies or refuses sparse inputs; `keras.ops.cast` keeps them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._convert_input_args = False  # A sparse tensor stays sparse.

    def call(self, inputs):
        return keras.ops.cast(inputs, "float32")

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="float32", sparse=inputs.sparse)


@keras.saving.register_keras_serializable(package="zoo")
class BagDense(keras.layers.Dense):
    """`Dense` over bags of n-grams, dense or sparse, that with `normalize` first scales
    each bag to unit L2 length (as scikit-learn's TfidfVectorizer does), computed as
    (x·W) / ‖x‖ so a sparse bag is never made dense: ‖x‖² is x² summed by a product with
    a column of ones. `input_dropout` drops bag entries while training. For dense bags
    this is UnitNormalization → Dropout → Dense, to float rounding. Hand-written because
    Keras' UnitNormalization and Dropout, and dividing a sparse tensor by a per-row
    norm, refuse sparse tensors (Keras 3.15); `Dense` and `ops.square` take them."""

    def __init__(
        self,
        units: int,
        normalize: bool = True,
        input_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(units, **kwargs)
        self.normalize = normalize
        self.input_dropout = input_dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if input_dropout else None

    def call(self, inputs, training=None):
        ops = keras.ops
        x = self._drop_entries(inputs) if training and self.input_dropout else inputs
        z = ops.matmul(x, self.kernel)
        if self.normalize:  # The length of the bag as given, before dropout (Dropout
            # after UnitNormalization in the dense equivalent).
            ones = ops.ones((self.kernel.shape[0], 1), dtype=z.dtype)
            squares = ops.matmul(ops.square(inputs), ones)
            z = z / ops.sqrt(ops.maximum(squares, 1e-12))
        if self.bias is not None:
            z = ops.add(z, self.bias)
        return self.activation(z) if self.activation is not None else z

    def _drop_entries(self, x):
        """Dropout of the bag's entries: of its stored values when it is sparse, so the
        mask is as small as the bag (a dense mask would be vocabulary-wide)."""
        rate, seed = self.input_dropout, self.seed_generator
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            if isinstance(x, tf.SparseTensor):
                return tf.SparseTensor(
                    x.indices, keras.random.dropout(x.values, rate, seed=seed), x.dense_shape
                )
        elif keras.backend.backend() == "jax":
            from jax.experimental import sparse as jax_sparse

            if isinstance(x, jax_sparse.BCOO):
                values = keras.random.dropout(x.data, rate, seed=seed)
                return jax_sparse.BCOO((values, x.indices), shape=x.shape)
        return keras.random.dropout(x, rate, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "normalize": self.normalize,
            "input_dropout": self.input_dropout,
            "seed": self.seed,
        }


def sample_indices(length: Any, frames: int | None, stride: int) -> Any:
    """Indices of `frames` frames `stride` apart, centred in a clip of `length` frames;
    past the end they repeat the last frame. `frames` None: every `stride`-th frame."""
    import tensorflow as tf

    length = tf.cast(length, tf.int32)
    if frames is None:
        return tf.range(0, length, stride)
    span = (frames - 1) * stride + 1
    start = tf.maximum((length - span) // 2, 0)
    return tf.minimum(start + tf.range(frames) * stride, length - 1)


@keras.saving.register_keras_serializable(package="zoo")
class VideoPreprocess(keras.layers.Layer):
    """Batch of raw clips (B, T, H, W[, C]) of any dtype → float32 (B, frames, h, w, C).

    Adds a channel axis to (B, T, H, W) volumes, samples `frames` frames `stride` apart
    (centred), resizes each frame to `resize` (bilinear, antialiased) and multiplies by
    `rescale`. Registered with Keras, so saved models reload it in safe mode.
    """

    def __init__(
        self,
        *,
        frames: int | None = None,
        stride: int = 1,
        resize: tuple[int, int] | None = None,
        rescale: float | None = None,
        add_channel_axis: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.frames = frames
        self.stride = stride
        self.resize = tuple(resize) if resize else None
        self.rescale = rescale
        self.add_channel_axis = add_channel_axis

    def call(self, clips):
        import tensorflow as tf

        x = tf.convert_to_tensor(clips)
        if self.add_channel_axis:
            x = x[..., tf.newaxis]
        if self.frames is not None or self.stride > 1:
            x = tf.gather(x, sample_indices(tf.shape(x)[1], self.frames, self.stride), axis=1)
        x = tf.cast(x, tf.float32)
        if self.resize:
            shape = tf.shape(x)
            frames = tf.reshape(x, tf.concat([[-1], shape[2:]], axis=0))
            frames = tf.image.resize(frames, self.resize, antialias=True)
            x = tf.reshape(frames, tf.concat([shape[:2], [*self.resize], shape[4:]], axis=0))
        if self.rescale:
            x = x * self.rescale
        return x

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        batch, length, height, width, *channels = input_shape
        channels = [1] if self.add_channel_axis else channels
        if self.frames is not None:
            length = self.frames
        elif length is not None:
            length = -(-length // self.stride)
        if self.resize:
            height, width = self.resize
        return (batch, length, height, width, *channels)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "frames": self.frames,
            "stride": self.stride,
            "resize": list(self.resize) if self.resize else None,
            "rescale": self.rescale,
            "add_channel_axis": self.add_channel_axis,
        }


@keras.saving.register_keras_serializable(package="zoo")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learnt embedding of each position (0 … `sequence_length` − 1) to a batch of
    token embeddings (B, T, D), T ≤ `sequence_length`, and passes their padding mask on.

    keras.ops only (any backend): the Transformer encoder's position signal, the one
    piece of `text_transformer` Keras has no layer for (keras-hub has
    `PositionEmbedding`; see zoo/models/transformer.py for why it is not used).
    """

    def __init__(self, sequence_length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.supports_masking = True

    def build(self, input_shape: Shape) -> None:
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, input_shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )

    def call(self, inputs):
        length = keras.ops.shape(inputs)[1]
        positions = keras.ops.cast(self.embeddings[:length], inputs.dtype)
        return inputs + keras.ops.expand_dims(positions, 0)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sequence_length": self.sequence_length}


@keras.saving.register_keras_serializable(package="zoo")
class ApplicationPreprocess(keras.layers.Layer):
    """Raw 0–255 RGB images → what the `keras.applications` family `module` (e.g.
    "resnet_v2", "efficientnet_v2") expects, through that module's own
    `preprocess_input` (keras.ops: any backend). Families that normalise inside their
    model (EfficientNet, ConvNeXt, MobileNetV3) pass the images through unchanged.
    """

    def __init__(self, module: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.module = module
        self._preprocess = getattr(keras.applications, module).preprocess_input  # Fails early.

    def call(self, images):
        return self._preprocess(keras.ops.cast(images, self.compute_dtype))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "module": self.module}


# Axes each flip mirrors, counted from the end of channels-last images (B, H, W, C) and
# clips (B, T, H, W, C): width is -2, height -3.
FLIP_AXES = {"horizontal": (-2,), "vertical": (-3,), "horizontal_and_vertical": (-3, -2)}


@keras.saving.register_keras_serializable(package="zoo")
class Flip(keras.layers.Layer):
    """Mirrors channels-last images or clips, always (not at random): `horizontal`
    left-right, `vertical` top-bottom, `horizontal_and_vertical` both. Makes test-time
    views (`zoo.exporting.writers.with_preprocessor`)."""

    def __init__(self, mode: str = "horizontal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in FLIP_AXES:
            raise ValueError(f"Flip mode {mode!r}: choose one of {', '.join(FLIP_AXES)}")
        self.mode = mode

    def call(self, inputs):
        return keras.ops.flip(inputs, axis=FLIP_AXES[self.mode])

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="zoo")
class Shift(keras.layers.Layer):
    """Moves channels-last images (B, H, W, C) or clips (B, T, H, W, C), every frame
    alike, `offset` pixels down and right (up and left when negative), filling with
    zeros: the zero-padded crop of `augment.crop` at a fixed offset. Makes test-time
    views (`zoo.exporting.writers.with_preprocessor`)."""

    def __init__(self, offset: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offset = int(offset)

    def call(self, inputs):
        pad, height, width = abs(self.offset), inputs.shape[-3], inputs.shape[-2]
        leading = [[0, 0]] * (len(inputs.shape) - 3)  # batch (and time): not moved
        padded = keras.ops.pad(inputs, [*leading, [pad, pad], [pad, pad], [0, 0]])
        start = pad - self.offset  # output[i] = input[i - offset] = padded[i - offset + pad]
        return padded[..., start : start + height, start : start + width, :]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "offset": self.offset}
