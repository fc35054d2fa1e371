"""Text preprocessing: strip markup, standardise and vectorise raw strings.

The vectoriser is adapted on the training split only (never validation or test, which
would leak their vocabulary), then becomes the bundle's preprocessor: mapped over the
splits in tf.data for training, and placed in front of the model for evaluation and
export, so exported models take raw strings.

Adapting reads a bounded, seeded sample (`data.text.adapt_sample` documents, picked by a
hash of the example index, so the cost does not grow with the dataset). The trainer saves
the learnt vocabulary as `vocabulary.txt` in the run folder (one token per line, padding
first); evaluation and re-export pass it back (`vocabulary=`), and the vectoriser is then
rebuilt from it without adapting. A vocabulary learnt from data a source can identify
(`DataBundle.version`: file sizes and mtimes) is also cached under the data cache folder,
keyed by that version, the data section and the seed, so the next run on unchanged data
starts without reading a sample again. `adapt_calls` counts adaptations in this process.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.data.bundle import DataBundle
from zoo.errors import DataError
from zoo.fs import replace_atomically
from zoo.runs import layout

if TYPE_CHECKING:
    from zoo.config.schema import TextOptions

log = logging.getLogger("zoo")

VOCABULARY_FILE = layout.VOCABULARY
# Raise when zoo's text cleaning changes: cached vocabularies of older code are not reused.
VOCABULARY_FORMAT = 1
adapt_calls = 0  # Adaptations in this process (tests and benchmarks read it).


def saved_vocabulary(run_folder: Path | None) -> Path | None:
    """The run's saved vocabulary file, if it has one."""
    if run_folder is None:
        return None
    path = Path(run_folder) / VOCABULARY_FILE
    return path if path.is_file() else None


def vocabulary_text(preprocessor: Any) -> str | None:
    """The vectoriser's vocabulary as file text (one token per line), or None.

    The file always starts with the padding line '' (int mode's own first token; added
    for multi_hot/tf_idf, whose vocabularies have none). In tf_idf mode each token line
    ends in a tab and the token's inverse document frequency: the weights are learnt with
    the vocabulary, and a vectoriser rebuilt without adapting needs them. Tokens never
    hold a tab (TextVectorization splits on whitespace)."""
    try:
        vectorizer = preprocessor.get_layer("vectorize")
    except (AttributeError, ValueError):
        return None
    tokens = [str(t) for t in vectorizer.get_vocabulary()]
    mode = vectorizer.get_config()["output_mode"]
    if mode == "int":
        return "".join(f"{token}\n" for token in tokens)
    lines = [f"{token}\n" for token in tokens]
    if mode == "tf_idf":
        weights = vectorizer._lookup_layer.idf_weights.numpy()[: len(tokens)]
        lines = [f"{token}\t{float(w)!r}\n" for token, w in zip(tokens, weights, strict=True)]
    return "\n" + "".join(lines)


def _set_vocabulary(vectorizer: Any, tokens: list[str], mode: str, where: str) -> None:
    """Give `vectorizer` a saved vocabulary (`read_vocabulary`'s tokens) in `mode`."""
    if mode == "int":
        vectorizer.set_vocabulary(tokens)
        return
    entries = tokens[1:]  # Bags have no padding token.
    if mode != "tf_idf":
        vectorizer.set_vocabulary(entries)
        return
    try:
        words, weights = zip(*(entry.rsplit("\t", 1) for entry in entries), strict=True)
        idf = [float(w) for w in weights]
    except ValueError:
        raise DataError(
            f"The saved vocabulary {where} holds no inverse document frequencies (a tab and "
            "a number on each token line), which data.text.output_mode tf_idf needs: it was "
            "learnt in another output mode. Train the run again."
        ) from None
    vectorizer.set_vocabulary(list(words), idf_weights=idf)


def read_vocabulary(path: Path) -> list[str]:
    """Tokens of a saved `vocabulary.txt`, in order (the first line is the padding '')."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read the saved vocabulary {path} ({exc}).") from None
    tokens = text.split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    if len(tokens) < 2 or tokens[0] != "":
        raise DataError(
            f"{path} is not a vocabulary zoo wrote (the first line must be the empty padding "
            "token, the second the out-of-vocabulary token). Train the run again."
        )
    return tokens


def _sample(texts: Any, options: TextOptions, seed: int, total: int | None) -> Any:
    """At most `adapt_sample` texts, picked uniformly by a seeded hash of their index
    (computed a block of texts at a time: per-text functions would dominate the cost)."""
    import tensorflow as tf

    if options.adapt_examples:
        texts = texts.take(options.adapt_examples)
        total = min(total, options.adapt_examples) if total else options.adapt_examples
    n = options.adapt_sample
    if n is None or (total is not None and total <= n):
        return texts
    from zoo.data.sources.csv_scan import unit_tf

    share = tf.constant(n / total if total else 1.0, tf.float64)
    block = 4096

    def pick(b, batch):
        index = b * block + tf.range(tf.shape(batch, out_type=tf.int64)[0])
        return tf.boolean_mask(batch, unit_tf(index, seed) < share)

    return texts.batch(block).enumerate().map(pick).unbatch().take(n)


def _as_dataset(texts: Any) -> Any:
    import tensorflow as tf

    if isinstance(texts, tf.data.Dataset):
        return texts
    return tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))


def _cached(cache_file: Path | None) -> list[str] | None:
    """The vocabulary an earlier run learnt from the same data and options, if intact."""
    if cache_file is None or not cache_file.is_file():
        return None
    try:
        tokens = read_vocabulary(cache_file)
    except DataError:
        log.info("text: the cached vocabulary %s is damaged; learning it again", cache_file)
        return None
    log.info("text: vocabulary from the cache %s (same data and options)", cache_file)
    return tokens


def _keep(cache_file: Path, text: str) -> None:
    """Save a learnt vocabulary for the next run (through a temporary name: a reader never
    sees half a file). A cache that cannot be written only costs the next run time."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(cache_file, text)
    except OSError as exc:
        log.info("text: could not cache the vocabulary in %s (%s)", cache_file.parent, exc)


def clean_text_layer() -> type:
    """The `CleanText` layer class (zoo/models/layers.py, registered with Keras there)."""
    from zoo.models.layers import CleanText

    return CleanText


def keep_ends_layer() -> type:
    """The `KeepEnds` layer class (zoo/models/layers.py): head + tail truncation."""
    from zoo.models.layers import KeepEnds

    return KeepEnds


def to_float_layer() -> type:
    """The `ToFloat` layer class (zoo/models/layers.py): a cast that keeps sparse bags
    sparse, which Keras' Rescaling does not."""
    from zoo.models.layers import ToFloat

    return ToFloat


def build(
    options: TextOptions,
    texts: Any,
    input_name: str = "text",
    *,
    vocabulary: list[str] | None = None,
    seed: int = 0,
    total: int | None = None,
    presampled: bool = False,
) -> Any:
    """A keras.Model from a batch of raw strings to int64 token ids, its vocabulary
    learnt from a sample of `texts` (a tf.data.Dataset of string scalars, `total` long;
    `presampled`: already the sample to learn from), or set from a saved `vocabulary`
    (no adapting)."""
    global adapt_calls
    import keras
    import tensorflow as tf

    clean = clean_text_layer()(strip_markup=options.strip_markup, name="clean_text")
    mode = options.output_mode
    bag = mode != "int"
    cut_at_end = mode == "int" and options.truncate == "end"
    vectorizer = keras.layers.TextVectorization(
        max_tokens=options.max_tokens,
        standardize=None if options.standardize == "none" else options.standardize,
        ngrams=options.ngrams,
        output_mode=mode,
        output_sequence_length=options.sequence_length if cut_at_end else None,
        sparse=bag and options.sparse,
        name="vectorize",
    )
    if vocabulary is not None:
        _set_vocabulary(vectorizer, vocabulary, mode, "file")
        log.info("text: vocabulary of %d tokens set, not learnt (no adapting)", len(vocabulary))
    else:
        if not presampled:
            texts = _sample(texts, options, seed, total)
        vectorizer.adapt(texts.batch(512).map(clean, num_parallel_calls=tf.data.AUTOTUNE))
        adapt_calls += 1
    raw = keras.Input(shape=(), dtype="string", name=input_name)
    tokens = vectorizer(clean(raw))
    if options.truncate == "middle":  # Whole texts in, their two ends kept.
        length = options.sequence_length
        tokens = keep_ends_layer()(length, length // 4, name="keep_ends")(tokens)
    if bag:
        # A bag of n-grams: one float vector per text. TextVectorization's multi_hot output
        # is int64 when run (float32 only symbolically): cast, sparse bags included.
        tokens = to_float_layer()(name="to_float")(tokens)
    return keras.Model(raw, tokens, name="text_preprocessor")


def apply(
    options: TextOptions,
    bundle: DataBundle,
    *,
    seed: int = 0,
    vocabulary: Path | None = None,
    cache_file: Path | None = None,
) -> DataBundle:
    """`bundle` with a vectoriser adapted on a sample of its training texts (or built from
    a saved `vocabulary` file) as its preprocessor, and `vocabulary_size` /
    `sequence_length` among the builder's data parameters.

    `cache_file` names where the vocabulary learnt from this very data (version) and
    these options is kept between runs: read instead of adapting when present and valid,
    written after adapting. A run's own `vocabulary` always wins."""
    info = bundle.info
    if info.input_dtype != "string" or info.input_shape != ():
        raise DataError(
            f"data.text applies to text inputs, but the input {info.input_name!r} is "
            f"{info.input_dtype} of shape {list(info.input_shape)} per example. "
            "Remove data.text, or read a text dataset."
        )
    if bundle.preprocessor is not None:
        raise DataError("data.text cannot be combined with another preprocessor of the source.")
    tokens = read_vocabulary(vocabulary) if vocabulary is not None else _cached(cache_file)
    presampled = bundle.text_sample is not None and not options.adapt_examples
    if presampled:  # The source picked the sample while reading (e.g. the CSV scan).
        texts = _as_dataset(bundle.text_sample)
    else:
        # The source's uncached examples when it gives them: sampling through the training
        # pipeline would fill its memory cache with the whole split.
        source = bundle.raw.get("train")
        train = source if source is not None else bundle.train.unbatch()
        texts = train.map(lambda x, y: x)
    pre = build(
        options,
        texts,
        info.input_name,
        vocabulary=tokens,
        seed=seed,
        total=info.num_examples.get("train"),
        presampled=presampled,
    )
    if tokens is None and cache_file is not None:
        _keep(cache_file, vocabulary_text(pre) or "")
    vectorizer = pre.get_layer("vectorize")
    vocabulary_size = int(vectorizer.vocabulary_size())
    specials = 2 if options.output_mode == "int" else 1  # Padding (int only), out-of-vocab.
    if vocabulary_size <= specials:
        raise DataError(
            "data.text: the training split holds no words to learn a vocabulary from "
            f"(vocabulary of {vocabulary_size} tokens); check the training files."
        )
    model_inputs = {**info.model_inputs, "vocabulary_size": vocabulary_size}
    if options.sequence_length is not None and options.output_mode == "int":
        model_inputs["sequence_length"] = options.sequence_length
    if options.sparse:
        model_inputs["sparse"] = True
    info = dataclasses.replace(info, model_inputs=model_inputs)
    return dataclasses.replace(bundle, info=info, preprocessor=pre)
