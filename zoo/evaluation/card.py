"""`model_card.md`: what a run is, how well it did, and how to make it again.

Written from the recipe, the run's metrics and the environment, so a reader needs no
other file to know what the model is and how to reproduce it; written just before
metrics.json, whose presence marks a run finished.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.config import sources
from zoo.config.loading import to_yaml
from zoo.evaluation import report
from zoo.runs import layout

if TYPE_CHECKING:
    from zoo.config.schema import Recipe
    from zoo.data import DataInfo


def hardware() -> str:
    """CPU, core count and the accelerators TensorFlow sees."""
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} CPU cores; GPUs: {', '.join(gpus) or 'none'}"


def reproduce_lines(recipe: Recipe) -> list[str]:
    """The commands that train this run again, from its folder: no path of this machine.

    Why: a card travels (in a preset, on a hub); `ZOO_TFDS_MANUAL_DIR=/home/me/...` or
    `runs/...` mean nothing on another machine. The run's recipe.yaml keeps `zoo-data://`
    paths symbolic, and `zoo prepare` says where each file goes there."""
    lines = [
        "From this folder (`recipe.yaml` is the resolved recipe of this run):",
        "```",
        "zoo prepare --recipes .     # makes its data ready, or says what is missing and where",
        f"zoo train recipe.yaml --output-dir {recipe.name}-again",
        "```",
    ]
    if recipe.data.source == "tfds" and not recipe.data.manual_dir:
        lines.append(
            "Offline, point `ZOO_TFDS_MANUAL_DIR` at a folder holding the dataset's original "
            "files first; `zoo-data://` paths resolve under `ZOO_DATA_DIR`."
        )
    return lines


def _table(rows: Mapping[str, Mapping[str, float]]) -> list[str]:
    names = sorted({k for scores in rows.values() for k in scores})
    lines = ["| split | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for split, scores in rows.items():
        cells = [f"{scores[n]:.4f}" if n in scores else "" for n in names]
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    return lines


def _dataset(recipe: Recipe) -> str:
    data = recipe.data
    path = getattr(data, "path", None)
    if path is None:  # Named, not read from a file: TFDS datasets, plug-ins.
        return f"`{sources.of(data).where(data)}` ({sources.of(data).description})"
    return f"`{data.source}` source reading `{path}`"


def _weights_origin(origin: Mapping[str, Any] | None) -> list[str]:
    """Where the starting weights came from (model.init_from) and what stayed fixed."""
    if not origin:
        return ["- starting weights: random initialisation (trained from scratch)"]
    lines = []
    if origin.get("uri"):
        lines.append(
            f"- starting weights: {origin.get('kind', 'preset')} `{origin['uri']}` "
            f"(sha256 `{origin.get('sha256', '?')}`)"
        )
        rebuilt = origin.get("head_rebuilt") or []
        if rebuilt:
            lines.append(f"- classification head rebuilt for the new classes: {', '.join(rebuilt)}")
    else:
        lines.append("- starting weights: random initialisation (trained from scratch)")
    if origin.get("frozen"):
        lines.append(f"- frozen layers: {', '.join(origin['frozen'])}")
    return lines


def _throughput(training: Mapping[str, Any]) -> list[str]:
    """Training examples/s and what it was measured over (zoo/training/throughput.py)."""
    speed = training.get("examples_per_second")
    if not isinstance(speed, int | float):
        return []
    detail = training.get("throughput") or {}
    timed = detail.get("epochs_timed")
    over = f" over {timed} epoch(s)" if timed else ""
    left_out = ", the first left out (warm-up)" if detail.get("first_epoch_excluded") else ""
    return [f"- training throughput: {speed:,.1f} examples/s{over}{left_out}"]


def _test_time_views(recipe: Recipe) -> list[str]:
    found = recipe.data.test_time()
    if found is None:
        return []
    field, views = found
    noun = "clip" if field == "data.video.test_time" else "image"
    return [
        f"- test-time augmentation: the model averages its probabilities over "
        f"{views.describe(noun)}, one forward pass each; the final metrics are the averaged "
        f"model's (validation during training saw the {noun} alone)"
    ]


def render(
    run_dir: Path,
    recipe: Recipe,
    metrics: Mapping[str, Any],
    info: DataInfo,
    *,
    versions: Mapping[str, str],
) -> str:
    training = metrics.get("training", {})
    splits = recipe.data.splits.model_dump()
    split_rows = [
        f"- {role}: `{expr}` ({info.num_examples.get(role, '?'):,} examples)"
        if isinstance(info.num_examples.get(role), int)
        else f"- {role}: `{expr}`"
        for role, expr in splits.items()
        if expr is not None
    ]
    scores = report.all_scores(metrics)
    export = metrics.get("export", {})
    lines = [
        f"# Model card: {recipe.name}",
        "",
        recipe.description or "(no description in the recipe)",
        "",
        "## Model",
        f"- builder: `{recipe.model.name}`, parameters: {training.get('parameters', 0):,} "
        "(layers in `model_summary.txt`)",
        f"- input: `{info.input_name}` {info.input_dtype} {list(info.input_shape)} per example; "
        f"output: probabilities over {info.num_classes} classes"
        + (f" ({', '.join(info.class_names)})" if info.class_names else ""),
        *_weights_origin(training.get("init_from")),
        *_test_time_views(recipe),
        "",
        "## Data",
        f"- dataset: {_dataset(recipe)}",
        *split_rows,
        "",
        "## Final metrics",
        *(_table(scores) if scores else ["(no evaluation splits)"]),
        "",
        "precision, recall, F1 and AUC are macro averages over the classes; per class, and "
        "the confusion matrix, in metrics.json (`report`) and `confusion_matrix_<split>.png`; "
        "curves in `training_curves.png`, the learning rate per epoch in `history.csv`.",
        *(["", "## Export checks", *report.export_table(export)] if export else []),
        "",
        "## Training",
        f"- epochs run: {training.get('epochs')}, training time: {training.get('seconds')} s",
        *_throughput(training),
        f"- seed: {recipe.seed}",
        f"- hardware: {hardware()}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "## Reproduce",
        *reproduce_lines(recipe),
        "",
        "## Resolved recipe",
        "```yaml",
        to_yaml(recipe).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def write(
    run_dir: Path,
    recipe: Recipe,
    metrics: Mapping[str, Any],
    info: DataInfo,
    *,
    versions: Mapping[str, str],
) -> Path:
    path = run_dir / layout.CARD
    path.write_text(render(run_dir, recipe, metrics, info, versions=versions))
    return path
