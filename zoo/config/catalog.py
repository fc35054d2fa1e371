"""Names a recipe may use for losses and metrics, mapped to Keras class names.

Kept free of Keras imports so recipes are checked before TensorFlow loads; the trainer
resolves the class names with `getattr(keras.losses, ...)` when it compiles.
"""

# loss name -> (keras.losses class, options the class accepts beyond its defaults)
LOSSES: dict[str, tuple[str, frozenset[str]]] = {
    "sparse_categorical_crossentropy": (
        "SparseCategoricalCrossentropy",
        frozenset({"from_logits"}),
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
