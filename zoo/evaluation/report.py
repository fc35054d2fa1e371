"""Pictures of a run: the confusion matrix per split and the training curves.

Rendered with matplotlib's Agg backend (no display needed), imported lazily so the CLIs'
`--help` stays fast. The numbers themselves live in metrics.json; these PNGs are for eyes.
matplotlib is optional (`pip install keras-recipe-zoo[plots]`): without it a run logs one
line saying so and writes no PNGs; everything else is unchanged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.runs import layout

if TYPE_CHECKING:
    import keras

log = logging.getLogger("zoo")


@functools.cache
def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or None (said once) when it is not installed."""
    try:
        import matplotlib
    except ImportError:
        log.info(
            "matplotlib is not installed: no confusion-matrix or training-curve PNGs "
            "(pip install 'keras-recipe-zoo[plots]'); metrics.json has every figure."
        )
        return None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str], path: Path, title: str
) -> Path | None:
    """Counts per (true, predicted) class, with each cell labelled; the diagonal is right.
    None (nothing written) without matplotlib."""
    import numpy as np

    plt = _pyplot()
    if plt is None:
        return None
    m = np.asarray(matrix)
    n = len(class_names)
    size = max(5.0, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(m, cmap="Blues")
    fig.colorbar(image, ax=ax, label="examples")
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xticklabels=class_names,
        yticklabels=class_names,
        xlabel="predicted class",
        ylabel="true class",
        title=title,
    )
    plt.setp(ax.get_xticklabels(), rotation=45 if max(map(len, class_names)) > 3 else 0)
    threshold = m.max() / 2 if m.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(m[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if m[i, j] > threshold else "black",
            )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_history(history: Mapping[str, Sequence[float]], path: Path, title: str) -> Path | None:
    """One panel per quantity (loss, then each metric): train and validation per epoch.
    None (nothing written) without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return None
    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in names]
    cols = min(3, len(names)) or 1
    rows = -(-len(names) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.5 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for key, label, style in ((name, "train", "o-"), (f"val_{name}", "validation", "s--")):
            if key in history:
                values = history[key]
                ax.plot(range(1, len(values) + 1), values, style, label=label)
        ax.set(title=name, xlabel="epoch", ylabel=name)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_split_report(
    run_dir: Path, split: str, report: Mapping[str, Any], title: str
) -> Path | None:
    """`confusion_matrix_<split>.png` in the run directory (None without matplotlib)."""
    return plot_confusion_matrix(
        report["confusion_matrix"],
        report["class_names"],
        run_dir / layout.confusion_matrix(split),
        f"{title}: confusion matrix on {split} (accuracy {report['accuracy']:.4f})",
    )


def model_summary(model: keras.Model) -> str:
    """Keras's layer summary as plain text (no colour codes): `model_summary.txt`.

    Why a file: the card says how many parameters; the summary says where they are, which
    a reader comparing two runs (or choosing layers to freeze) needs without Python."""
    parts: list[str] = []
    model.summary(print_fn=parts.append, line_length=80, expand_nested=True)  # Rich: 80 wide.
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


# The macro-averaged scores every classification report has (zoo.evaluation.classification).
REPORT_SCORES = ("precision", "recall", "f1", "auc")


def all_scores(metrics: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """{split: {score: value}}: the recipe's metrics with the report's macro precision,
    recall, F1 and AUC added, for the card and the terminal summary.

    Why: those four are computed for every classification run, but lived only in
    metrics.json's `report`; a reader of the card or the terminal never saw them."""
    reports = metrics.get("report") if isinstance(metrics.get("report"), Mapping) else {}
    out: dict[str, dict[str, float]] = {}
    for split, scores in metrics.items():
        if split in ("training", "export", "report") or not isinstance(scores, Mapping):
            continue
        merged = {k: float(v) for k, v in scores.items() if isinstance(v, int | float)}
        macro = (reports.get(split) or {}).get("macro") or {}
        for name in REPORT_SCORES:
            value = macro.get(name)
            if name not in merged and isinstance(value, int | float):
                merged[name] = float(value)
        out[split] = merged
    return out


def export_table(checks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The export checks as Markdown rows: format, file, size, what was compared, result,
    and the batch-1 latency measured in the checking process (zoo/exporting/verify.py)."""
    lines = [
        "| format | file | size | check (fresh process) | result | batch-1 ms |",
        "|---|---|---|---|---|---|",
    ]
    for kind, c in checks.items():
        size = c.get("size_bytes")
        shown = f"{size / 1e6:.2f} MB" if isinstance(size, int | float) else ""
        if c.get("check") == "accuracy":
            what = (
                f"test accuracy {c.get('accuracy', 0):.4f} vs float "
                f"{c.get('float_accuracy', 0):.4f} (drop ≤ {c.get('max_accuracy_drop')})"
            )
        else:
            what = (
                f"max abs difference {c.get('max_abs_difference', float('nan')):.2e} on "
                f"{c.get('examples', '?')} examples (≤ {c.get('tolerance')})"
            )
        if c.get("input"):  # What the artifact takes, when not the raw input (ONNX text).
            what += f"; takes `{c['input']}`"
        if c.get("note"):
            what += f"; {c['note']}"
        ok = c.get("ok")
        result = "passed" if ok else ("failed" if ok is False else "not checked")
        latency = c.get("batch1_latency_ms")
        ms = f"{latency:.3g}" if isinstance(latency, int | float) else ""
        lines.append(f"| {kind} | `{c.get('artifact', '')}` | {shown} | {what} | {result} | {ms} |")
    return lines
