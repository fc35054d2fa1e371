"""Names a recipe may use for losses and metrics, mapped to Keras class names.

Kept free of Keras imports so recipes are checked before TensorFlow loads; the trainer
resolves the class names with `getattr(keras.losses, ...)` when it compiles.
"""

# loss name -> (keras.losses class, options the class accepts beyond its defaults)
LOSSES: dict[str, tuple[str, frozenset[str]]] = {
    # label_smoothing: zoo's own class (zoo/models/losses.py); Keras's has none.
    "sparse_categorical_crossentropy": (
        "SparseCategoricalCrossentropy",
        frozenset({"from_logits", "label_smoothing"}),
    ),
    "categorical_crossentropy": (
        "CategoricalCrossentropy",
        frozenset({"from_logits", "label_smoothing"}),
    ),
    "binary_crossentropy": ("BinaryCrossentropy", frozenset({"from_logits", "label_smoothing"})),
    "mse": ("MeanSquaredError", frozenset()),
    "mae": ("MeanAbsoluteError", frozenset()),
    "huber": ("Huber", frozenset({"delta"})),
}

# metric name -> keras.metrics class, or None where Keras picks it from the loss.
METRICS: dict[str, str | None] = {
    "accuracy": None,
    "top_k_accuracy": "SparseTopKCategoricalAccuracy",
    "mse": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "rmse": "RootMeanSquaredError",
}

# Scores zoo computes in numpy from the collected predictions (zoo.evaluation.classification):
# macro averages in the split's metrics, per-class values in the report. Classification
# runs only (softmax over num_classes, sparse integer labels).
REPORT_METRICS: dict[str, str] = {
    "precision": "macro precision",
    "recall": "macro recall",
    "f1": "macro F1",
    "auc": "ROC AUC (binary, or one-vs-rest macro for more classes)",
}

# Every metric name a recipe may use.
METRIC_NAMES: tuple[str, ...] = (*METRICS, *REPORT_METRICS)

# Metrics that take a `k`.
METRICS_WITH_K = frozenset({"top_k_accuracy"})

# ------------------------------------------------------------- what applies to what
# Each loss's task: which labels it reads and which metrics can mean something with it.
# Zoo's sources give integer class labels and its builders end in a softmax, so the
# regression losses are for builders and data that say so.
LOSS_TASKS: dict[str, str] = {
    "sparse_categorical_crossentropy": "sparse",
    "categorical_crossentropy": "categorical",
    "binary_crossentropy": "binary",
    "mse": "regression",
    "mae": "regression",
    "huber": "regression",
}

CLASSIFICATION_TASKS = frozenset({"sparse", "categorical", "binary"})

# metric name -> the loss tasks it applies to. Report metrics and top-k read sparse
# integer labels against per-class probabilities; mse/mae/rmse compare numbers.
METRIC_TASKS: dict[str, frozenset[str]] = {
    "accuracy": CLASSIFICATION_TASKS,
    "top_k_accuracy": frozenset({"sparse"}),
    "mse": frozenset({"regression"}),
    "mae": frozenset({"regression"}),
    "rmse": frozenset({"regression"}),
    **{name: frozenset({"sparse"}) for name in REPORT_METRICS},
}

# Final scoring (zoo.evaluation.scoring) compares mse/mae/rmse with one-hot labels on
# classification runs (a Brier score), so there they do apply; during training Keras would
# broadcast a class index against the probabilities instead.
EVALUATION_METRIC_TASKS: dict[str, frozenset[str]] = {
    **METRIC_TASKS,
    **{name: frozenset({"regression", "sparse"}) for name in ("mse", "mae", "rmse")},
}

# Which way is better for each quantity zoo logs (without the `val_` prefix). Anything
# else monitored needs an explicit `mode`.
MONITOR_MODES: dict[str, str] = {
    "loss": "min",
    "mse": "min",
    "mae": "min",
    "rmse": "min",
    "huber": "min",
    "sparse_categorical_crossentropy": "min",
    "categorical_crossentropy": "min",
    "binary_crossentropy": "min",
    "accuracy": "max",
    "top_k_accuracy": "max",
    "precision": "max",
    "recall": "max",
    "f1": "max",
    "auc": "max",
}


def metric_log_name(name: str, k: int | None = None) -> str:
    """The key Keras logs a metric under (named by losses_and_metrics.metrics)."""
    if name in METRICS_WITH_K and k is not None:
        return f"top_{k}_accuracy"
    return name


def quantity_mode(quantity: str) -> str | None:
    """'min'/'max' for a logged quantity (`val_` prefix allowed), None when unknown."""
    import re

    base = quantity.removeprefix("val_")
    if base in MONITOR_MODES:
        return MONITOR_MODES[base]
    if re.fullmatch(r"top_\d+_accuracy", base):
        return "max"
    return None
