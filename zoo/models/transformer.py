"""Transformer encoders for text classification (Vaswani et al. 2017, "Attention Is All
You Need"), from scratch on token ids.

Hand-written from Keras 3 layers (MultiHeadAttention, LayerNormalization, Dense) rather
than keras-hub's `TransformerEncoder` / `TokenAndPositionEmbedding`: keras-hub 0.32
requires tensorflow-text on every non-Windows platform (plus sentencepiece, tokenizers
and kagglehub), which would tie zoo to TensorFlow releases tensorflow-text supports and
break the TensorFlow-free JAX install; the encoder block is a dozen lines. The one
missing piece, a learnt position embedding, is zoo's `PositionEmbedding` layer.
"""

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from zoo.models._types import PositiveInt, Rate
from zoo.models.registry import enforce, register_model

if TYPE_CHECKING:
    import keras

Pooling = Literal["mean", "max", "max_mean"]
# The feed-forward's exact GELU exports an Erfc node ONNX lacks (zoo/exporting/formats/onnx.py).
NO_ONNX = {
    "onnx": "every encoder block's feed-forward uses the exact GELU, which Keras's ONNX "
    "exporter writes as an Erfc node, no ONNX op (ONNX Runtime refuses the file); "
    "text_rnn and text_bow export to ONNX"
}


def encoder_block(
    x, *, heads: int, feedforward_dim: int, dropout: float, attention_dropout: float, name: str
):
    """One pre-norm encoder block (Xiong et al. 2020: LayerNorm before each sub-layer,
    which trains without a learning-rate warm-up): x + MHA(LN(x)), then x + FFN(LN(x)).
    Padding is masked in attention through the Keras mask the embedding sets.
    `dropout` acts on each sub-layer's output; `attention_dropout` on the attention
    probabilities themselves, which Keras can then no longer compute with its fused
    `dot_product_attention`."""
    import keras

    layers = keras.layers
    dim = x.shape[-1]
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_attention_norm")(x)
    h = layers.MultiHeadAttention(
        heads, dim // heads, dropout=attention_dropout, name=f"{name}_attention"
    )(h, h)
    h = layers.Dropout(dropout, name=f"{name}_attention_dropout")(h)
    x = layers.Add(name=f"{name}_attention_add")([x, h])
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_feedforward_norm")(x)
    h = layers.Dense(feedforward_dim, activation="gelu", name=f"{name}_feedforward_1")(h)
    h = layers.Dense(dim, name=f"{name}_feedforward_2")(h)
    h = layers.Dropout(dropout, name=f"{name}_feedforward_dropout")(h)
    return layers.Add(name=f"{name}_feedforward_add")([x, h])


def _heads_divide_embedding(params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    embedding_dim, num_heads = params["embedding_dim"], params["num_heads"]
    if embedding_dim % num_heads:
        yield (
            "num_heads",
            f"text_transformer: embedding_dim {embedding_dim} must divide by num_heads "
            f"{num_heads} (each head gets embedding_dim / num_heads channels)",
        )


@register_model(task="classification", cannot_export=NO_ONNX, rules=_heads_divide_embedding)
def text_transformer(
    *,
    vocabulary_size: PositiveInt = 20000,
    sequence_length: PositiveInt = 200,
    num_classes: PositiveInt = 2,
    embedding_dim: PositiveInt = 64,
    num_heads: PositiveInt = 2,
    feedforward_dim: PositiveInt = 128,
    num_blocks: PositiveInt = 1,
    dropout: Rate = 0.1,
    attention_dropout: Rate = 0.0,
    pooling: Pooling = "mean",
) -> "keras.Model":
    """Token + learnt position embeddings → `num_blocks` pre-norm Transformer encoder
    blocks (Vaswani et al. 2017) → final LayerNorm → pooling over positions → Dropout →
    softmax.

    Takes int token ids of length `sequence_length` (zoo's text preprocessing pads and
    truncates to it and passes it in), 0 meaning padding: masked in attention and in
    "mean" pooling ("max" reads padded positions too, which learn to be uninformative).
    `embedding_dim` must divide by `num_heads`. `pooling` "max_mean" concatenates both.
    `dropout` drops the embeddings, each sub-layer's output and the pooled features;
    `attention_dropout` the attention probabilities (B × heads × length² values), off by
    default: on IMDB's 500 tokens it doubled the step time on this CPU, because it forces
    Keras off its fused dot-product attention and draws a random mask of that size.
    """
    import keras

    from zoo.models.layers import PositionEmbedding

    enforce(_heads_divide_embedding, embedding_dim=embedding_dim, num_heads=num_heads)
    layers = keras.layers
    inputs = keras.Input(shape=(sequence_length,), dtype="int64", name="tokens")
    x = layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding")(inputs)
    x = PositionEmbedding(sequence_length, name="position_embedding")(x)
    x = layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(num_blocks):
        x = encoder_block(
            x,
            heads=num_heads,
            feedforward_dim=feedforward_dim,
            dropout=dropout,
            attention_dropout=attention_dropout,
            name=f"block{i}",
        )
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    pools = []
    if pooling in ("max", "max_mean"):
        pools.append(layers.GlobalMaxPooling1D(name="max_pool")(x))
    if pooling in ("mean", "max_mean"):
        pools.append(layers.GlobalAveragePooling1D(name="mean_pool")(x))
    x = pools[0] if len(pools) == 1 else layers.Concatenate(name="pools")(pools)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="text_transformer")
