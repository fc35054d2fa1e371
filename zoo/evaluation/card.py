"""`model_card.md`: what a run is, how well it did, and how to make it again.

Written from the recipe, the run's metrics and the environment, so a reader needs no
other file to know what the model is and how to reproduce it; written just before
metrics.json, whose presence marks a run finished.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import settings
from zoo.config import sources
from zoo.config.loading import to_yaml

if TYPE_CHECKING:
    from zoo.config.schema import Recipe
    from zoo.data import DataInfo

NON_SPLIT_KEYS = frozenset({"training", "export", "report"})


def hardware() -> str:
    """CPU, core count and the accelerators TensorFlow sees."""
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} CPU cores; GPUs: {', '.join(gpus) or 'none'}"


def reproduce_command(run_dir: Path, recipe: Recipe) -> str:
    """The CLI line that trains this run again from its resolved recipe."""
    # The recipe's own manual_dir needs nothing more; else name the folder this run used.
    tfds = recipe.data.source == "tfds"
    manual = None if not tfds or recipe.data.manual_dir else settings.tfds_manual_dir()
    env = f"ZOO_TFDS_MANUAL_DIR={shlex.quote(str(Path(manual).resolve()))} " if manual else ""
    return (
        f"{env}python -m zoo.train {shlex.quote(str(run_dir / 'recipe.yaml'))} "
        f"--output-dir {shlex.quote(str(run_dir))}-again"
    )


def invocation() -> str | None:
    """The exact command line, when this process is `python -m zoo.train ...`."""
    argv = list(getattr(sys, "orig_argv", []))
    if "zoo.train" not in argv:
        return None
    return shlex.join(["python", *argv[argv.index("-m") :]]) if "-m" in argv else None


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
    scores = {k: v for k, v in metrics.items() if k not in NON_SPLIT_KEYS}
    export = metrics.get("export", {})
    lines = [
        f"# Model card: {recipe.name}",
        "",
        recipe.description or "(no description in the recipe)",
        "",
        "## Model",
        f"- builder: `{recipe.model.name}`, parameters: {training.get('parameters', 0):,}",
        f"- input: `{info.input_name}` {info.input_dtype} {list(info.input_shape)} per example; "
        f"output: probabilities over {info.num_classes} classes"
        + (f" ({', '.join(info.class_names)})" if info.class_names else ""),
        *_weights_origin(training.get("init_from")),
        "",
        "## Data",
        f"- dataset: {_dataset(recipe)}",
        *split_rows,
        "",
        "## Final metrics",
        *(_table(scores) if scores else ["(no evaluation splits)"]),
        "",
        "Per-class precision, recall, F1, AUC and the confusion matrix are in metrics.json "
        "(`report`) and `confusion_matrix_<split>.png`; curves in `training_curves.png`.",
        *(
            [f"- export check `{name}`: {check}" for name, check in export.items()]
            if export
            else []
        ),
        "",
        "## Training",
        f"- epochs run: {training.get('epochs')}, training time: {training.get('seconds')} s",
        f"- seed: {recipe.seed}",
        f"- hardware: {hardware()}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "## Reproduce",
        "From the resolved recipe saved in this run directory:",
        "```",
        reproduce_command(run_dir, recipe),
        "```",
        *(["Invoked as:", "```", invocation(), "```"] if invocation() else []),
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
    path = run_dir / "model_card.md"
    path.write_text(render(run_dir, recipe, metrics, info, versions=versions))
    return path
