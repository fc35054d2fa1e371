"""One resolver for every monitored quantity: its name and its direction.

The checkpoint, early stopping and learning-rate plateau callbacks all watch a logged
value; each gets its name and `mode` from here, so they agree, and all three fall back
from `val_*` to the training value when the recipe has no validation split.
(Minimal version; helper C owns the fuller one with load-time checks.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zoo.config.schema import Recipe

_HIGHER_IS_BETTER = ("acc", "auc", "f1", "precision", "recall")


@dataclass(frozen=True)
class Monitor:
    name: str
    mode: Literal["min", "max"]


def _direction(name: str, mode: str | None) -> Literal["min", "max"]:
    if mode in ("min", "max"):
        return mode  # type: ignore[return-value]
    return "max" if any(word in name for word in _HIGHER_IS_BETTER) else "min"


def resolve_monitors(recipe: Recipe) -> dict[str, Monitor]:
    """{"checkpoint": ..., and when configured "early_stopping", "reduce_lr_on_plateau"}."""
    has_validation = recipe.data.splits.validation is not None
    callbacks = recipe.training.callbacks
    sections = {
        "checkpoint": callbacks.checkpoint,
        "early_stopping": callbacks.early_stopping,
        "reduce_lr_on_plateau": callbacks.reduce_lr_on_plateau,
    }
    out: dict[str, Monitor] = {}
    for key, section in sections.items():
        if section is None:
            continue
        name = section.monitor
        if name.startswith("val_") and not has_validation:
            name = name.removeprefix("val_")  # No validation split: judge on training.
        out[key] = Monitor(name, _direction(name, getattr(section, "mode", None)))
    return out
