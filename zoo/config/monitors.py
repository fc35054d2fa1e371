"""One resolver for every monitored quantity: its logged name and its direction.

Checkpoint, early stopping and LR-on-plateau each name a quantity (`monitor`) and may
give a `mode`. This module turns that into the exact key Keras logs and `min`/`max`, the
same way for all three: without a validation split `val_x` falls back to `x`; `mode:
auto` is decided from `zoo.config.catalog.MONITOR_MODES` (Keras cannot infer it for the
scores zoo computes itself, such as `val_f1`). `monitor_problems` says what cannot be
resolved, so `zoo.config.rules` reports it at load time; the trainer calls
`resolve_monitors` and passes name and mode explicitly to each callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zoo.config import catalog
from zoo.config.schema import CsvData, Recipe
from zoo.errors import ZooError, did_you_mean

CALLBACKS = ("checkpoint", "early_stopping", "reduce_lr_on_plateau")


@dataclass(frozen=True)
class Monitor:
    """A quantity as Keras logs it (`val_accuracy`, `loss`, ...) and which way is better."""

    name: str
    mode: Literal["min", "max"]


def has_validation(recipe: Recipe) -> bool:
    """Whether training will have a validation split, as far as the recipe says."""
    data = recipe.data
    if data.splits.validation is not None and not _single_csv(recipe):
        return True
    return getattr(data, "validation_fraction", 0.0) > 0


def _single_csv(recipe: Recipe) -> bool:
    """A csv source whose `path` is one file: its splits come from the fractions."""
    import os

    data = recipe.data
    if not isinstance(data, CsvData):
        return False
    archive = data.path.lower().endswith((".tar.gz", ".tgz", ".tar", ".zip"))
    return not archive and os.path.isfile(data.path)


def logged(recipe: Recipe) -> list[str]:
    """Every quantity the training history will hold, in order."""
    names = ["loss"]
    report = []
    for m in recipe.training.metrics:
        if m.name in catalog.REPORT_METRICS:
            report.append(m.name)  # Scored on the validation split only.
        else:
            names.append(catalog.metric_log_name(m.name, m.k))
    if has_validation(recipe):
        names += [f"val_{n}" for n in names] + [f"val_{n}" for n in report]
    return names


def _resolve(recipe: Recipe) -> tuple[dict[str, Monitor], list[tuple[str, str]]]:
    monitors: dict[str, Monitor] = {}
    problems: list[tuple[str, str]] = []
    available = logged(recipe)
    validation = has_validation(recipe)
    callbacks = recipe.training.callbacks
    for key in CALLBACKS:
        config = getattr(callbacks, key)
        if config is None:
            continue
        where = f"training.callbacks.{key}"
        name = config.monitor
        if name.startswith("val_") and not validation:
            name = name.removeprefix("val_")  # No validation split: judge on training.
        if name not in available:
            only_val = f"val_{name}" in [f"val_{m.name}" for m in recipe.training.metrics]
            hint = (
                f" {name!r} is scored on the validation split only; add one "
                "(data.splits.validation or validation_fraction) or monitor loss."
                if only_val and not validation
                else did_you_mean(name, available)
            )
            problems.append(
                (
                    f"{where}.monitor",
                    f"{config.monitor!r} is not logged by this recipe.{hint} Logged: "
                    f"{', '.join(available)}.",
                )
            )
            continue
        mode = config.mode if config.mode != "auto" else catalog.quantity_mode(name)
        if mode is None:
            problems.append(
                (
                    f"{where}.mode",
                    f"zoo cannot tell whether {name!r} is better low or high; "
                    "set mode: min or mode: max.",
                )
            )
            continue
        monitors[key] = Monitor(name, mode)  # type: ignore[arg-type]
    return monitors, problems


def monitor_problems(recipe: Recipe) -> list[tuple[str, str]]:
    """(field path, message) for each monitor that cannot be resolved."""
    return _resolve(recipe)[1]


def resolve_monitors(recipe: Recipe) -> dict[str, Monitor]:
    """`checkpoint` and, when configured, `early_stopping` and `reduce_lr_on_plateau`,
    each as the logged name and direction to pass to its Keras callback."""
    monitors, problems = _resolve(recipe)
    if problems:
        path, message = problems[0]
        raise ZooError(f"Recipe {recipe.name}: {path}: {message}")
    return monitors


def describe(recipe: Recipe) -> str:
    """YAML comment lines naming each resolved monitor, for `--dry-run`."""
    lines = [f"#   {key}: {m.name} ({m.mode})" for key, m in resolve_monitors(recipe).items()]
    return "\n".join(["# monitors, as zoo resolves them:", *lines]) + "\n"
