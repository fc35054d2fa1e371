"""Recurrent text classifiers over integer token ids."""

from typing import TYPE_CHECKING, Literal

from zoo.models._types import PositiveInt, Rate, Widths
from zoo.registry import register_model

if TYPE_CHECKING:
    import keras

Cell = Literal["simple_rnn", "lstm", "gru"]
_CELL_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


@register_model(task="classification")
def text_rnn(
    *,
    vocabulary_size: PositiveInt = 20000,
    sequence_length: PositiveInt | None = None,
    num_classes: PositiveInt = 2,
    embedding_dim: PositiveInt = 128,
    cell: Cell = "lstm",
    units: Widths = (64,),
    bidirectional: bool = True,
    dropout: Rate = 0.25,
) -> "keras.Model":
    """Embedding → stacked SimpleRNN/LSTM/GRU (optionally bidirectional) → softmax.

    Takes int token ids, 0 meaning padding (masked). `units` gives one recurrent layer per
    entry; all but the last return sequences. `sequence_length` None accepts any length.
    """
    import keras

    layers = keras.layers
    rnn_layer = getattr(layers, _CELL_LAYERS[cell])
    inputs = keras.Input(shape=(sequence_length,), dtype="int64", name="tokens")
    x = layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding")(inputs)
    for i, width in enumerate(units):
        rnn = rnn_layer(width, return_sequences=i < len(units) - 1, name=f"{cell}_{i}")
        x = layers.Bidirectional(rnn, name=f"bidirectional_{i}")(x) if bidirectional else rnn(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="text_rnn")
