"""Multi-layer perceptron for flat feature vectors or images (flattened first).

No `from __future__ import annotations` in builder modules: the registry reads the
parameter annotations as real types to check recipe values without importing Keras.
"""

from typing import TYPE_CHECKING

from zoo.models._types import PositiveInt, Rate, Scale, Shape, Widths
from zoo.models.registry import register_model

if TYPE_CHECKING:
    import keras


@register_model(task="classification")
def mlp(
    *,
    input_shape: Shape = (28, 28, 1),
    num_classes: PositiveInt = 10,
    hidden_units: Widths = (256, 128),
    activation: str = "relu",
    dropout: Rate = 0.2,
    rescale: Scale | None = 1 / 255,
) -> "keras.Model":
    """Fully connected classifier: Flatten → [Dense → Dropout] per hidden layer → softmax.

    `rescale` multiplies the raw input first (1/255 turns uint8 pixels into [0, 1]);
    set it to None for features that are already scaled.
    """
    import keras

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Rescaling(rescale)(inputs) if rescale else inputs
    x = keras.layers.Flatten()(x)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation=activation, name=f"dense_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", name="predictions", dtype="float32"
    )(x)
    return keras.Model(inputs, outputs, name="mlp")
