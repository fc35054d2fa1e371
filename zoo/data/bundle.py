"""What every data source returns to the trainer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from zoo.data.check import SplitStats
    from zoo.errors import ZooError

# A source's account of an error its pipelines raised mid-run (see `DataBundle.explain`).
Explain = Callable[[BaseException], "ZooError | None"]


@dataclass(frozen=True)
class DataInfo:
    """Facts about the data that fill in model parameters and the export signature.

    `input_name`, `input_shape` and `input_dtype` describe one *raw* example (e.g.
    `image` (28, 28, 1) uint8, or `text` () string): exported models accept exactly
    that, batched. `model_inputs` holds builder parameters fixed by the preprocessing
    rather than by the raw data (e.g. `vocabulary_size` and `sequence_length` after text
    vectorisation, or `input_shape` after resizing); they override the raw ones.
    """

    input_name: str
    input_shape: tuple[int, ...]
    input_dtype: str
    num_classes: int | None = None
    class_names: tuple[str, ...] = ()
    num_examples: dict[str, int] = field(default_factory=dict)
    model_inputs: dict[str, Any] = field(default_factory=dict)

    def label_mapping(self) -> dict[str, int]:
        """Class name → the integer label (and output index) standing for it."""
        return {name: i for i, name in enumerate(self.class_names)}

    def model_params(self) -> dict[str, Any]:
        """Builder parameters the data determines."""
        params: dict[str, Any] = {"input_shape": self.input_shape}
        if self.num_classes is not None:
            params["num_classes"] = self.num_classes
        params.update(self.model_inputs)
        return params


@dataclass(frozen=True)
class DataBundle:
    """Batched, prefetched pipelines of (raw input, label) per split (absent splits are
    None), plus an optional `preprocessor`.

    The `preprocessor` is a Keras layer (or model) mapping a batch of raw inputs to what
    the model eats, e.g. an adapted `TextVectorization`. Keeping it out of the pipelines
    gives one mechanism for both uses: `model_ready` maps it over a split so training
    reads ready tensors (vectorised in tf.data, in parallel with the model), and the
    trainer puts it in front of the trained model for evaluation and export, so exported
    models take raw input. Training-only steps (augmentation) belong in the source's
    train pipeline instead, never here.

    For the data check (`zoo.data.check`): `stats` holds per-split statistics a source
    computed completely while reading (in-memory arrays, file listings); `raw` holds
    unbatched, unshuffled per-split examples to sample where it did not (TFDS).

    For text vocabularies: `text_sample` holds the training texts to learn from when the
    source picked its own bounded sample while reading (a list of strings, or a
    tf.data.Dataset of them); `version` identifies the data read (file sizes and mtimes),
    so what is learnt from it can be cached across runs (None: never cached).

    Some bad input is only met while the pipelines run (an image the check's time budget
    left undecoded, a file truncated after loading): `explain`, when a source sets it,
    turns such an error raised from tf.data into the ZooError naming the file and the fix,
    or returns None when the source has no account of it (`zoo.data.pipeline_errors`).
    """

    info: DataInfo
    train: tf.data.Dataset
    validation: tf.data.Dataset | None = None
    test: tf.data.Dataset | None = None
    preprocessor: keras.Layer | None = None
    stats: dict[str, SplitStats] = field(default_factory=dict)
    raw: dict[str, tf.data.Dataset] = field(default_factory=dict)
    text_sample: list[str] | tf.data.Dataset | None = None
    version: Any = None
    explain: Explain | None = None

    def split(self, name: str) -> tf.data.Dataset | None:
        """A split's raw (input, label) batches."""
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]

    def model_ready(self, name: str) -> tf.data.Dataset | None:
        """A split's batches with the preprocessor applied: what `fit` consumes."""
        ds = self.split(name)
        if ds is None or self.preprocessor is None:
            return ds
        import tensorflow as tf

        pre = self.preprocessor
        ds = ds.map(lambda x, y: (pre(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)
