"""What every data source returns to the trainer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tensorflow as tf


@dataclass(frozen=True)
class DataInfo:
    """Facts about the data that fill in model parameters and the export signature.

    `input_shape` and `input_dtype` describe one raw example (e.g. (28, 28, 1), uint8):
    exported models accept exactly that, batched.
    """

    input_name: str
    input_shape: tuple[int, ...]
    input_dtype: str
    num_classes: int | None = None
    class_names: tuple[str, ...] = ()
    num_examples: dict[str, int] = field(default_factory=dict)

    def model_params(self) -> dict[str, Any]:
        """Builder parameters the data determines."""
        params: dict[str, Any] = {"input_shape": self.input_shape}
        if self.num_classes is not None:
            params["num_classes"] = self.num_classes
        return params


@dataclass(frozen=True)
class DataBundle:
    """Batched, prefetched pipelines of (input, label) per split; absent splits are None."""

    info: DataInfo
    train: tf.data.Dataset
    validation: tf.data.Dataset | None = None
    test: tf.data.Dataset | None = None

    def split(self, name: str) -> tf.data.Dataset | None:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]
