"""Classification scores computed in numpy from labels and predicted probabilities.

Keras metrics want one-hot or binary targets for precision, recall and AUC; zoo models
emit softmax probabilities over `num_classes` with sparse integer labels. Scoring the
collected predictions once after evaluation is simpler and exact, and it serves the
trainer, `zoo.cli.evaluate` and SavedModels (which have no Keras metrics) alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """`m[i, j]`: examples of true class i predicted as class j."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels, int), np.asarray(predicted, int)), 1)
    return m


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (a class never predicted has precision 0, as sklearn)."""
    return np.divide(num, den, out=np.zeros(num.shape, float), where=den > 0)


def precision_recall_f1(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support from a confusion matrix."""
    tp = np.diag(matrix).astype(float)
    precision = _safe_divide(tp, matrix.sum(axis=0).astype(float))
    recall = _safe_divide(tp, matrix.sum(axis=1).astype(float))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": matrix.sum(axis=1)}


def binary_auc(is_positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted as half; NaN if
    only one class is present."""
    is_positive = np.asarray(is_positive, bool)
    n_pos = int(is_positive.sum())
    n_neg = len(is_positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    sorted_scores = np.asarray(score)[order]
    ranks = np.empty(len(score), float)
    # Average ranks over ties so equal scores count half.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, count in zip(first, counts, strict=True):
        ranks[order[start : start + count]] = start + (count + 1) / 2
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_per_class(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """One-vs-rest ROC AUC for each class column (for two classes: the binary AUC twice)."""
    return np.array(
        [binary_auc(labels == c, probabilities[:, c]) for c in range(probabilities.shape[1])]
    )


def top_k_accuracy(labels: np.ndarray, probabilities: np.ndarray, k: int) -> float:
    """Share of examples whose label is among the k highest probabilities."""
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == np.asarray(labels)[:, None], axis=1)))


def _json_number(value: float, integer: bool) -> int | float | None:
    """JSON-safe: a class absent from the labels has AUC NaN, written as null."""
    if integer:
        return int(value)
    return None if np.isnan(value) else float(value)


def report(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str] = (),
    *,
    with_auc: bool = True,
) -> dict[str, Any]:
    """Macro scores, a per-class table and the confusion matrix, ready for JSON."""
    labels = np.asarray(labels).astype(int).reshape(-1)
    num_classes = probabilities.shape[1]
    names = list(class_names) or [str(c) for c in range(num_classes)]
    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), num_classes)
    per = precision_recall_f1(matrix)
    if with_auc:
        per["auc"] = auc_per_class(labels, probabilities)
    macro = {k: float(np.nanmean(v)) for k, v in per.items() if k != "support"}
    if with_auc and num_classes == 2:
        macro["auc"] = float(per["auc"][1])  # Binary: the positive class's AUC.
    return {
        "macro": macro,
        "accuracy": float(np.trace(matrix) / max(1, matrix.sum())),
        "per_class": {
            name: {k: _json_number(v[i], k == "support") for k, v in per.items()}
            for i, name in enumerate(names)
        },
        "class_names": names,
        "confusion_matrix": matrix.tolist(),
    }
