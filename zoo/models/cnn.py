"""Image convolutional networks."""

from typing import TYPE_CHECKING

from zoo.models._types import PositiveInt, Scale, Shape
from zoo.registry import register_model

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
