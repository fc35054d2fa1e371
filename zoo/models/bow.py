"""Bag-of-n-grams text classifiers: the fast, strong baseline to try first.

A linear model over unigram + bigram features is hard to beat on sentiment: NBSVM-bi
reaches 91.2% on IMDB (Wang & Manning 2012, "Baselines and Bigrams"), bigram TF-IDF +
Dense 89.8% (Chollet, Deep Learning with Python, 2nd ed.), both above our recurrent
model. The vectorisation (n-grams, multi-hot or TF-IDF) is zoo's text preprocessing
(`data.text.output_mode`, `ngrams`), so the builder is pure Keras on a float vector and
the exported model still takes raw strings.
"""

from typing import TYPE_CHECKING

from zoo.models._types import NonNegativeFloat, PositiveInt, Rate
from zoo.models.registry import register_model

if TYPE_CHECKING:
    import keras


@register_model(task="classification")
def text_bow(
    *,
    vocabulary_size: PositiveInt = 20000,
    num_classes: PositiveInt = 2,
    hidden_units: tuple[PositiveInt, ...] = (),
    dropout: Rate = 0.5,
    l2: NonNegativeFloat = 0.0,
    normalize: bool = True,
    sparse: bool = False,
) -> "keras.Model":
    """A bag of n-grams → (Dropout → Dense ReLU per `hidden_units` entry) → Dropout →
    softmax; `hidden_units` empty (the default) is a linear classifier (multinomial
    logistic regression), as in the bag-of-bigrams baselines (Wang & Manning 2012).

    Takes one float vector of `vocabulary_size` per text: the output of zoo's text
    preprocessing with `data.text.output_mode` multi_hot or tf_idf (ngrams: 2 for
    unigrams and bigrams). `normalize` scales each bag to unit L2 norm first (as
    scikit-learn's TfidfVectorizer does): long and short reviews then weigh alike, and
    a linear model on TF-IDF needs it to generalise. `dropout` drops input features and
    hidden units (the main regulariser of a linear model with tens of thousands of
    inputs); `l2` penalises every kernel. `sparse` takes the bag as a sparse tensor
    (`data.text.sparse: true` sets it): the first layer then touches only the n-grams a
    text holds, which is what makes a 200,000-entry vocabulary cheap. Normalising and
    dropping input features happen inside that first layer (`BagDense`), so dense and
    sparse bags give the same model.
    """
    import keras

    from zoo.models.layers import BagDense

    layers = keras.layers
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=(vocabulary_size,), dtype="float32", sparse=sparse, name="bag")
    widths = [*hidden_units, num_classes]
    x = inputs
    for i, width in enumerate(widths):
        last = i == len(widths) - 1
        options = {
            "activation": "softmax" if last else "relu",
            "kernel_regularizer": regularizer,
            "name": "predictions" if last else f"dense_{i}",
        }
        if last:
            options["dtype"] = "float32"
        if i == 0:  # The bag itself: normalised and dropped out inside the layer.
            x = BagDense(width, normalize=normalize, input_dropout=dropout, **options)(x)
            continue
        if dropout:
            x = layers.Dropout(dropout, name="dropout" if last else f"dropout_{i}")(x)
        x = layers.Dense(width, **options)(x)
    return keras.Model(inputs, x, name="text_bow")
