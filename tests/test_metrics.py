"""Every recipe metric against values worked out by hand on one tiny known batch.

Six examples, three classes. Predicted class (argmax) is [0, 1, 1, 1, 2, 0], so the
confusion matrix rows (true 0, 1, 2) are [1 1 0], [0 2 0], [1 0 1].
"""

import numpy as np
import pytest

from zoo.config.loading import RecipeError, validate
from zoo.config.schema import Loss, Metric
from zoo.evaluation import classification
from zoo.evaluation.scoring import score

LABELS = np.array([0, 0, 1, 1, 2, 2])
PROBS = np.array(
    [
        [0.8, 0.1, 0.1],
        [0.3, 0.6, 0.1],
        [0.2, 0.7, 0.1],
        [0.1, 0.8, 0.1],
        [0.1, 0.2, 0.7],
        [0.5, 0.1, 0.4],
    ]
)
SPARSE = Loss(name="sparse_categorical_crossentropy")


def test_confusion_matrix_by_hand():
    m = classification.confusion_matrix(LABELS, PROBS.argmax(1), 3)
    assert m.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_per_class_precision_recall_f1_by_hand():
    r = classification.report(LABELS, PROBS, ["a", "b", "c"])
    # precision = diagonal / column sum; recall = diagonal / row sum.
    assert r["per_class"]["a"]["precision"] == pytest.approx(1 / 2)
    assert r["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert r["per_class"]["c"]["precision"] == pytest.approx(1.0)
    assert [r["per_class"][c]["recall"] for c in "abc"] == pytest.approx([0.5, 1.0, 0.5])
    # F1 of b: 2 * (2/3 * 1) / (2/3 + 1) = 0.8; of c: 2 * 0.5 / 1.5 = 2/3.
    assert [r["per_class"][c]["f1"] for c in "abc"] == pytest.approx([0.5, 0.8, 2 / 3])
    assert r["macro"]["f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert r["macro"]["precision"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert [r["per_class"][c]["support"] for c in "abc"] == [2, 2, 2]


def test_one_vs_rest_auc_by_hand():
    # Class a: positives score 0.8, 0.3; negatives 0.2, 0.1, 0.1, 0.5. Of the 8 pairs
    # only (0.3 < 0.5) is ranked wrong: AUC 7/8. Classes b and c separate perfectly.
    aucs = classification.auc_per_class(LABELS, PROBS)
    assert aucs.tolist() == pytest.approx([7 / 8, 1.0, 1.0])


def test_binary_auc_counts_ties_as_half():
    # Pairs (pos, neg): (0.9, 0.1) right, (0.9, 0.4) right, (0.4, 0.1) right, (0.4, 0.4) tie.
    assert classification.binary_auc(
        np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.1, 0.4])
    ) == pytest.approx(3.5 / 4)
    two = np.array([[0.1, 0.9], [0.6, 0.4], [0.9, 0.1], [0.6, 0.4]])
    r = classification.report(np.array([1, 1, 0, 0]), two)
    assert r["macro"]["auc"] == pytest.approx(3.5 / 4)


def test_top_k_accuracy_by_hand():
    # Top-1 misses examples 1 and 5. Their top-2 sets, {1, 0} and {0, 2}, hold the true
    # classes 0 and 2, so top-2 is 6/6.
    assert classification.top_k_accuracy(LABELS, PROBS, 1) == pytest.approx(4 / 6)
    assert classification.top_k_accuracy(LABELS, PROBS, 2) == pytest.approx(1.0)


def test_scores_for_every_recipe_metric_by_hand():
    names = [
        "accuracy",
        {"name": "top_k_accuracy", "k": 2},
        "precision",
        "recall",
        "f1",
        "auc",
        "mse",
        "mae",
    ]
    metrics = [Metric(**(n if isinstance(n, dict) else {"name": n})) for n in names]
    scores, report = score(LABELS, PROBS, loss=SPARSE, metrics=metrics, class_names=["a", "b", "c"])
    one_hot = np.eye(3)[LABELS]
    expected = {
        "loss": -np.mean(np.log(PROBS[np.arange(6), LABELS])),
        "accuracy": 4 / 6,
        "top_2_accuracy": 1.0,
        "precision": (0.5 + 2 / 3 + 1) / 3,
        "recall": (0.5 + 1 + 0.5) / 3,
        "f1": (0.5 + 0.8 + 2 / 3) / 3,
        "auc": (7 / 8 + 1 + 1) / 3,
        "mse": np.mean((one_hot - PROBS) ** 2),
        "mae": np.mean(np.abs(one_hot - PROBS)),
    }
    assert scores == pytest.approx(expected, rel=1e-5)
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_report_metrics_refused_for_a_regression_loss():
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match="need a classification run"):
        score(LABELS[:, None] / 2, PROBS[:, :1], loss=Loss(name="mse"), metrics=[Metric(name="f1")])


def test_unknown_metric_caught_at_validation_with_suggestion():
    raw = {
        "name": "r",
        "model": {"name": "mlp"},
        "data": {"name": "mnist"},
        "evaluation": {"metrics": ["precisoin"]},
    }
    with pytest.raises(RecipeError, match=r"unknown metric 'precisoin'\. Did you mean 'precision'"):
        validate(raw, source="r.yaml")


def test_absent_class_gets_null_auc_not_nan():
    r = classification.report(np.array([0, 1, 0]), PROBS[:3])  # Class 2 never occurs.
    assert r["per_class"]["2"]["auc"] is None
    assert r["per_class"]["2"]["support"] == 0
    # Class 0: positives 0.8, 0.2 vs negative 0.3 -> 1 of 2 pairs right. Class 1: positive
    # 0.6 vs negatives 0.1, 0.7 -> 1 of 2. The macro mean skips class 2.
    assert [r["per_class"][c]["auc"] for c in "01"] == pytest.approx([0.5, 0.5])
    assert r["macro"]["auc"] == pytest.approx(0.5)
