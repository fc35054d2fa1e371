"""Recipe loss and metric fields → Keras loss and metric objects.

Below both training (compile) and evaluation (scoring outside `compile`), so that a
reloaded artifact is scored with the very objects the trainer compiled with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.config.catalog import LOSSES, METRICS, REPORT_METRICS

if TYPE_CHECKING:
    import keras

    from zoo.config.schema import Loss, Metric


def loss(config: Loss) -> keras.losses.Loss:
    """Keras's loss class for `config`, except where only zoo's own class takes an option
    the recipe gives (label smoothing on integer labels: zoo/models/losses.py)."""
    import keras

    from zoo.models import losses as zoo_losses

    options = config.options()
    cls = getattr(keras.losses, LOSSES[config.name][0])
    if not set(options) <= _accepted(cls):
        cls = getattr(zoo_losses, LOSSES[config.name][0])
    return cls(**options)


def _accepted(cls: type) -> frozenset[str]:
    import inspect

    return frozenset(inspect.signature(cls.__init__).parameters)


# What Keras's "accuracy" string means for each loss, for scoring outside `compile`.
_ACCURACY_FOR_LOSS = {
    "sparse_categorical_crossentropy": "SparseCategoricalAccuracy",
    "categorical_crossentropy": "CategoricalAccuracy",
    "binary_crossentropy": "BinaryAccuracy",
}


def metrics(configs: list[Metric], loss_name: str | None = None) -> list[Any]:
    """Keras metrics for `configs`; report metrics (precision, f1, ...) are left to
    `zoo.evaluation.classification`. With `loss_name`, "accuracy" becomes a metric object too, so
    the list also works outside `compile` (Keras otherwise picks it from the loss)."""
    import keras

    out: list[Any] = []
    for m in configs:
        if m.name in REPORT_METRICS:
            continue
        cls = METRICS[m.name]
        if cls is None and loss_name is None:
            out.append(m.name)  # Keras picks the accuracy variant that fits the loss.
        elif cls is None:
            cls = _ACCURACY_FOR_LOSS.get(str(loss_name), "Accuracy")
            out.append(getattr(keras.metrics, cls)(name=m.name))
        else:
            kwargs = {"k": m.k} if m.k is not None else {}
            out.append(
                getattr(keras.metrics, cls)(
                    name=m.name if m.k is None else f"top_{m.k}_accuracy", **kwargs
                )
            )
    return out
