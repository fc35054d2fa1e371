"""Recurrent text classifiers over integer token ids."""

from typing import TYPE_CHECKING, Literal

from zoo.models._types import PositiveInt, Rate, Widths
from zoo.models.registry import register_model

if TYPE_CHECKING:
    import keras

Cell = Literal["simple_rnn", "lstm", "gru"]
Pooling = Literal["last", "max", "mean", "max_mean"]
_CELL_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
# Every cell runs a loop LiteRT's converter cannot lower (zoo/exporting/formats/litert.py).
NO_LITERT = {
    "litert": "its recurrent layers (LSTM, GRU or SimpleRNN, every cell) run a loop the "
    "LiteRT converter cannot lower to built-in ops (TensorList ops); text_transformer and "
    "text_bow convert"
}


@register_model(task="classification", cannot_export=NO_LITERT)
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
    pooling: Pooling = "last",
    embedding_dropout: Rate = 0.0,
) -> "keras.Model":
    """Embedding → stacked SimpleRNN/LSTM/GRU (optionally bidirectional) → softmax.

    Takes int token ids, 0 meaning padding (masked for "last" and "mean" pooling). `units`
    gives one recurrent layer per entry. `pooling` "last" classifies from the last layer's
    final state; "max", "mean" or both concatenated ("max_mean") pool its outputs over all
    time steps, which keeps evidence from early in long texts. `embedding_dropout` drops
    whole embedding channels (SpatialDropout1D). `sequence_length` None: any length.
    """
    import keras

    layers = keras.layers
    rnn_layer = getattr(layers, _CELL_LAYERS[cell])
    inputs = keras.Input(shape=(sequence_length,), dtype="int64", name="tokens")
    # Keras's GlobalMaxPooling1D takes no mask: with max pooling the padding id 0 is read
    # as a token like any other (it learns to be uninformative); "last"/"mean" mask it.
    mask = pooling in ("last", "mean")
    x = layers.Embedding(vocabulary_size, embedding_dim, mask_zero=mask, name="embedding")(inputs)
    if embedding_dropout:
        x = layers.SpatialDropout1D(embedding_dropout, name="embedding_dropout")(x)
    for i, width in enumerate(units):
        sequences = i < len(units) - 1 or pooling != "last"
        rnn = rnn_layer(width, return_sequences=sequences, name=f"{cell}_{i}")
        x = layers.Bidirectional(rnn, name=f"bidirectional_{i}")(x) if bidirectional else rnn(x)
    if pooling == "max":
        x = layers.GlobalMaxPooling1D(name="max_pool")(x)
    elif pooling == "mean":
        x = layers.GlobalAveragePooling1D(name="mean_pool")(x)
    elif pooling == "max_mean":
        pooled = [
            layers.GlobalMaxPooling1D(name="max_pool")(x),
            layers.GlobalAveragePooling1D(name="mean_pool")(x),
        ]
        x = layers.Concatenate(name="pools")(pooled)
    if dropout:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="text_rnn")
