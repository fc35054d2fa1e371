"""Score a model on one split from its predictions: Keras metrics plus the numpy report.

One function for the trainer, `zoo.cli.evaluate` and SavedModels alike: it needs only a
callable from a batch of raw inputs to probabilities, so a reloaded artifact is scored
exactly like the in-memory model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from zoo.config.catalog import REPORT_METRICS
from zoo.errors import ZooError
from zoo.evaluation import classification, losses_and_metrics

if TYPE_CHECKING:
    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.config.schema import Loss, Metric

Predict = Callable[["np.ndarray"], "np.ndarray"]

# Losses whose labels are sparse class indices: the runs that get a classification report.
SPARSE_CLASSIFICATION_LOSSES = frozenset({"sparse_categorical_crossentropy"})
# Regression metrics that, on a classification run, compare probabilities with one-hot
# labels (the Brier score for mse) instead of broadcasting a class index against them.
ONE_HOT_METRICS = frozenset({"mse", "mae", "rmse"})


def collect(predict: Predict, dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(labels, predictions) over the whole dataset, batch by batch, kept aligned."""
    import numpy as np

    labels, outputs = [], []
    for x, y in dataset:
        outputs.append(np.asarray(predict(x.numpy())))
        labels.append(y.numpy())
    return np.concatenate(labels), np.concatenate(outputs)


def predictor(model: keras.Model) -> Predict:
    """Batch → probabilities with one compiled graph. Not `predict_on_batch`: under a
    MirroredStrategy that returns every replica's copy of the batch."""
    import tensorflow as tf

    def call(x: Any) -> Any:  # Defs, not lambdas: AutoGraph reads their source.
        return model(x, training=False)

    inputs = getattr(model, "inputs", None) or []
    spec = None
    if len(inputs) == 1:  # One graph for every batch size: no retracing, no warning.
        spec = tf.TensorSpec([None, *inputs[0].shape[1:]], inputs[0].dtype)
        forward = tf.function(call, input_signature=[spec])
    else:
        forward = tf.function(call, reduce_retracing=True)

    def run(x: Any) -> Any:
        batch = tf.constant(x)  # tf.constant: str/bytes arrays too.
        if spec is not None and batch.dtype != spec.dtype and batch.dtype != tf.string:
            batch = tf.cast(batch, spec.dtype)  # uint8 pixels into a float32 Input, as Keras.
        return forward(batch).numpy()

    return run


def is_classification(loss: Loss, predictions: np.ndarray) -> bool:
    return loss.name in SPARSE_CLASSIFICATION_LOSSES and predictions.ndim == 2


def score(
    labels: np.ndarray,
    predictions: np.ndarray,
    *,
    loss: Loss,
    metrics: Sequence[Metric],
    class_names: Sequence[str] = (),
) -> tuple[dict[str, float], dict[str, Any] | None]:
    """(scalar scores named as in the recipe, classification report or None)."""
    import numpy as np

    predictions = np.asarray(predictions, np.float32)
    classifying = is_classification(loss, predictions)
    one_hot = np.eye(predictions.shape[-1])[labels.astype(int).reshape(-1)] if classifying else None
    scores = {"loss": float(losses_and_metrics.loss(loss)(labels, predictions))}
    for metric in losses_and_metrics.metrics(list(metrics), loss_name=loss.name):
        targets = one_hot if classifying and metric.name in ONE_HOT_METRICS else labels
        metric.update_state(targets, predictions)
        scores[metric.name] = float(metric.result())
    wanted = [m.name for m in metrics if m.name in REPORT_METRICS]
    if not classifying:
        if wanted:
            raise ZooError(
                f"Metrics {', '.join(wanted)} need a classification run (loss "
                f"sparse_categorical_crossentropy, softmax over classes); this run's loss is "
                f"{loss.name!r}. Remove them from the recipe's metrics."
            )
        return scores, None
    report = classification.report(labels, predictions, class_names, with_auc=True)
    for name in wanted:
        scores[name] = report["macro"][name]
    return scores, report


def validation_callback(
    dataset: tf.data.Dataset, metrics: Sequence[Metric], loss: Loss, class_names: Sequence[str]
) -> Any:
    """A Keras callback adding `val_<name>` for report metrics at each epoch's end, so
    training curves show precision/F1/AUC too (Keras metrics cannot do them sparsely)."""
    import keras

    wanted = [m for m in metrics if m.name in REPORT_METRICS]

    class ValidationReport(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if logs is None or not wanted:
                return
            labels, probs = collect(predictor(self.model), dataset)
            scores, _ = score(labels, probs, loss=loss, metrics=wanted, class_names=class_names)
            logs.update({f"val_{m.name}": scores[m.name] for m in wanted})

    return ValidationReport()
