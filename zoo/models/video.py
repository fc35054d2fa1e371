"""Video (clip) classifiers over tensors shaped (frames, height, width, channels)."""

from typing import TYPE_CHECKING

from zoo.models._types import PositiveInt, Rate, Scale, Shape, Widths
from zoo.models.registry import register_model

# Both builders pool with MaxPooling3D whatever their parameters (video_cnn after every
# block, frame_average_cnn per frame, then AveragePooling3D over each frame), which LiteRT
# cannot convert: refused at recipe load time (zoo/config/rules.py).
_R2PLUS1D = "video_r2plus1d downsamples with strided convolutions and converts"
VIDEO_CNN_EXPORTS = {
    "litert": "every block pools with MaxPooling3D, and LiteRT's built-in ops have no 3D "
    f"max pooling (TensorFlow op MaxPool3D); {_R2PLUS1D}"
}
FRAME_AVERAGE_EXPORTS = {
    "litert": "it pools every frame with MaxPooling3D and AveragePooling3D, and LiteRT's "
    f"built-in ops have no 3D pooling (TensorFlow ops MaxPool3D, AvgPool3D); {_R2PLUS1D}"
}

if TYPE_CHECKING:
    import keras


def _conv_block(x, filters: int, kernel_size: int, factorised: bool, name: str, momentum: float):
    """Conv3D k×k×k, or its (2+1)D factorisation: spatial 1×k×k then temporal k×1×1."""
    import keras

    layers = keras.layers
    k = kernel_size
    if factorised:
        x = layers.Conv3D(
            filters, (1, k, k), padding="same", use_bias=False, name=f"{name}_spatial"
        )(x)
        x = layers.BatchNormalization(momentum=momentum, name=f"{name}_spatial_bn")(x)
        x = layers.ReLU()(x)
        x = layers.Conv3D(
            filters, (k, 1, 1), padding="same", use_bias=False, name=f"{name}_temporal"
        )(x)
    else:
        x = layers.Conv3D(filters, (k, k, k), padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return layers.ReLU()(x)


@register_model(task="classification", cannot_export=VIDEO_CNN_EXPORTS)
def video_cnn(
    *,
    input_shape: Shape = (16, 64, 64, 3),
    num_classes: PositiveInt = 10,
    filters: Widths = (16, 32, 64),
    kernel_size: PositiveInt = 3,
    factorised: bool = False,
    dropout: Rate = 0.3,
    rescale: Scale | None = 1 / 255,
    batch_norm_momentum: Rate = 0.9,
) -> "keras.Model":
    """3D convnet over clips (frames, height, width, channels); `factorised` gives (2+1)D.

    One block per entry of `filters`: conv → batch norm → ReLU → max-pool (space only in
    the first block, space and time after), then global average pooling and softmax.
    `batch_norm_momentum` 0.9 (Keras: 0.99) lets the moving statistics settle within the
    few hundred steps that small video datasets give; with 0.99 the first epochs'
    evaluation sees stale statistics and predicts one class.
    """
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="clip")
    x = layers.Rescaling(rescale, name="rescale")(inputs) if rescale else inputs
    for i, width in enumerate(filters):
        x = _conv_block(
            x, width, kernel_size, factorised, name=f"block_{i}", momentum=batch_norm_momentum
        )
        pool = (1, 2, 2) if i == 0 else (2, 2, 2)
        x = layers.MaxPooling3D(pool, padding="same", name=f"pool_{i}")(x)
    x = layers.GlobalAveragePooling3D(name="global_pool")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="video_cnn_2plus1d" if factorised else "video_cnn")


@register_model(task="classification", cannot_export=FRAME_AVERAGE_EXPORTS)
def frame_average_cnn(
    *,
    input_shape: Shape = (16, 64, 64, 3),
    num_classes: PositiveInt = 10,
    filters: Widths = (16, 32, 64),
    kernel_size: PositiveInt = 3,
    units: PositiveInt = 64,
    dropout: Rate = 0.3,
    rescale: Scale | None = 1 / 255,
    batch_norm_momentum: Rate = 0.9,
) -> "keras.Model":
    """Baseline that sees frames, not motion: a 2D convnet applied to every frame alike,
    each frame pooled to a feature vector (plus a per-frame dense layer), the vectors
    averaged over time, then softmax.

    The per-frame convolutions are Conv3D with 1×k×k kernels and 1×2×2 pooling: exactly a
    TimeDistributed Conv2D/MaxPooling2D with weights shared over frames, but one fused op
    instead of a loop over time. The time average ignores frame order, so the model
    cannot tell a clip from the same clip played backwards: on `moving_shapes` it stays
    near chance while `video_cnn` learns.
    """
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="clip")
    x = layers.Rescaling(rescale, name="rescale")(inputs) if rescale else inputs
    for i, width in enumerate(filters):
        x = layers.Conv3D(
            width, (1, kernel_size, kernel_size), padding="same", use_bias=False, name=f"conv_{i}"
        )(x)
        x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"conv_{i}_bn")(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling3D((1, 2, 2), padding="same", name=f"pool_{i}")(x)
    frames, height, width, channels = x.shape[1:]
    x = layers.AveragePooling3D((1, height, width), name="frame_pool")(x)
    x = layers.Reshape((frames, channels), name="frame_features")(x)
    x = layers.Dense(units, activation="relu", name="frame_dense")(x)
    x = layers.GlobalAveragePooling1D(name="time_average")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="frame_average_cnn")
