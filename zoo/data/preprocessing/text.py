"""Text preprocessing: strip markup, standardise and vectorise raw strings.

The vectoriser is adapted on the training split only (never validation or test, which
would leak their vocabulary), then becomes the bundle's preprocessor: mapped over the
splits in tf.data for training, and placed in front of the model for evaluation and
export, so exported models take raw strings.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from zoo.data.bundle import DataBundle
from zoo.errors import DataError

if TYPE_CHECKING:
    from zoo.config.schema import TextOptions


def clean_text_layer() -> type:
    """The `CleanText` layer class (zoo/models/layers.py, registered with Keras there)."""
    from zoo.models.layers import CleanText

    return CleanText


def build(options: TextOptions, texts: Any, input_name: str = "text") -> Any:
    """A keras.Model from a batch of raw strings to int64 token ids, its vocabulary
    learnt from `texts` (a tf.data.Dataset of string scalars)."""
    import keras
    import tensorflow as tf

    clean = clean_text_layer()(strip_markup=options.strip_markup, name="clean_text")
    vectorizer = keras.layers.TextVectorization(
        max_tokens=options.max_tokens,
        standardize=None if options.standardize == "none" else options.standardize,
        ngrams=options.ngrams,
        output_mode="int",
        output_sequence_length=options.sequence_length,
        name="vectorize",
    )
    if options.adapt_examples:
        texts = texts.take(options.adapt_examples)
    vectorizer.adapt(texts.batch(512).map(clean, num_parallel_calls=tf.data.AUTOTUNE))
    raw = keras.Input(shape=(), dtype="string", name=input_name)
    tokens = vectorizer(clean(raw))
    return keras.Model(raw, tokens, name="text_preprocessor")


def apply(options: TextOptions, bundle: DataBundle) -> DataBundle:
    """`bundle` with a vectoriser adapted on its training texts as its preprocessor, and
    `vocabulary_size` / `sequence_length` among the builder's data parameters."""
    info = bundle.info
    if info.input_dtype != "string" or info.input_shape != ():
        raise DataError(
            f"data.text applies to text inputs, but the input {info.input_name!r} is "
            f"{info.input_dtype} of shape {list(info.input_shape)} per example. "
            "Remove data.text, or read a text dataset."
        )
    if bundle.preprocessor is not None:
        raise DataError("data.text cannot be combined with another preprocessor of the source.")
    texts = bundle.train.unbatch().map(lambda x, y: x)
    pre = build(options, texts, info.input_name)
    vectorizer = pre.get_layer("vectorize")
    vocabulary_size = int(vectorizer.vocabulary_size())
    if vocabulary_size <= 2:
        raise DataError(
            "data.text: the training split holds no words to learn a vocabulary from "
            f"(vocabulary of {vocabulary_size} tokens); check the training files."
        )
    model_inputs = {**info.model_inputs, "vocabulary_size": vocabulary_size}
    if options.sequence_length is not None:
        model_inputs["sequence_length"] = options.sequence_length
    info = dataclasses.replace(info, model_inputs=model_inputs)
    return dataclasses.replace(bundle, info=info, preprocessor=pre)
