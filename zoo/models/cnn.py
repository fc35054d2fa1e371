"""Image convolutional networks."""

from typing import TYPE_CHECKING

from zoo.models._types import NonNegativeInt, PositiveInt, Rate, Scale, Shape, Widths
from zoo.models.registry import register_model

if TYPE_CHECKING:
    import keras


@register_model(task="classification")
def mnist_cnn(
    *,
    input_shape: Shape = (28, 28, 1),
    num_classes: PositiveInt = 10,
    rescale: Scale | None = 1 / 255,
) -> "keras.Model":
    """The documented MNIST convnet: 2×(Conv 3×3 → MaxPool 2×2) → Dense(128) → softmax.

    Conv2D(32, 3×3, relu) → MaxPooling2D(2×2) → Conv2D(64, 3×3, relu) → MaxPooling2D(2×2)
    → Flatten → Dense(128, relu) → Dense(10, softmax): 225,034 trainable parameters on
    28×28×1 input. A parameter-free Rescaling in front lets it take raw uint8 pixels.
    """
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(rescale, name="rescale")(inputs) if rescale else inputs
    x = layers.Conv2D(32, (3, 3), activation="relu", name="conv_1")(x)
    x = layers.MaxPooling2D((2, 2), name="pool_1")(x)
    x = layers.Conv2D(64, (3, 3), activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D((2, 2), name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="mnist_cnn")


@register_model(task="classification")
def cnn(
    *,
    input_shape: Shape = (32, 32, 3),
    num_classes: PositiveInt = 10,
    filters: Widths = (32, 64, 128),
    convs_per_block: PositiveInt = 2,
    batch_norm: bool = True,
    dense_units: NonNegativeInt = 128,
    dropout: Rate = 0.3,
    rescale: Scale | None = None,
) -> "keras.Model":
    """A VGG-style convnet for small colour images (CIFAR-10's 32×32×3 by default).

    One block per entry of `filters`: `convs_per_block` × (Conv 3×3 'same' → BatchNorm →
    ReLU) → MaxPool 2×2; then global average pooling → Dropout → Dense(`dense_units`,
    ReLU; 0 leaves it out) → Dropout → softmax. `rescale` adds a Rescaling layer in front;
    leave it None when the data's preprocessing (`data.image.rescale`) already rescales.
    """
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(rescale, name="rescale")(inputs) if rescale else inputs
    for b, width in enumerate(filters):
        for c in range(convs_per_block):
            name = f"block{b + 1}_conv{c + 1}"
            x = layers.Conv2D(width, 3, padding="same", use_bias=not batch_norm, name=name)(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"{name}_bn")(x)
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="dense")(x)
        if dropout:
            x = layers.Dropout(dropout, name="dense_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="cnn")
