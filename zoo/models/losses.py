"""zoo's own Keras losses, registered with Keras on import like zoo/models/layers.py.

Why a loss of our own: Keras 3's `SparseCategoricalCrossentropy` has no
`label_smoothing` (only the one-hot `CategoricalCrossentropy` has), yet every zoo
classifier reads integer labels. Smoothing matters most on short schedules (airbench,
Jordan 2024, trains CIFAR-10 with 0.2). The recipe keeps its sparse loss and names
`label_smoothing`; the trainer then compiles this class, which one-hots the labels in
the graph and hands them to Keras's own categorical cross-entropy, so the arithmetic is
Keras's. Without smoothing the trainer keeps Keras's class, and saved files stay as
they were.
"""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="zoo")
class SparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy between integer labels (shape (B,) or (B, 1)) and per-class scores,
    with the one-hot targets smoothed: 1 - s + s/K for the true class, s/K elsewhere."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = from_logits
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        ops = keras.ops
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        targets = ops.one_hot(ops.cast(y_true, "int32"), y_pred.shape[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            targets, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }
