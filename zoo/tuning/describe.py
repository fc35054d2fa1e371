"""How a search talks about its trials: parameters and outcomes as short, readable text.

Why: Optuna's raw values (`0.060971326247055216`, `pruned None`) told a user nothing at a
glance, and a trial's recipe kept the description it inherited from the searched recipe
("MLP 256-128" over `hidden_units: [64]`). Every line `zoo search` prints about a trial,
and the description of each trial's recipe and of best.yaml, comes from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def value(v: Any) -> str:
    """One parameter value: floats to 4 significant digits, lists and dicts compactly."""
    if isinstance(v, bool) or v is None:
        return str(v).lower() if v is not None else "null"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k}: {value(x)}" for k, x in v.items()) + "}"
    return str(v)


def params(p: Mapping[str, Any]) -> str:
    """`training.optimizer.learning_rate=0.06097, model.params.hidden_units=[8, 4]`."""
    return ", ".join(f"{path}={value(v)}" for path, v in p.items()) or "(no parameters)"


def description(search_name: str, number: int, p: Mapping[str, Any], *, best: bool = False) -> str:
    """A trial's (or best.yaml's) recipe description: the search and the parameters, in
    place of the searched recipe's own, which described other values."""
    who = f"best trial {number}" if best else f"trial {number}"
    return f"{who} of search {search_name}: {params(p)}"


def outcome(
    number: int,
    state: str,
    objective: str,
    score: float | None,
    *,
    pruned_epoch: int | None = None,
    error: str | None = None,
    seconds: float | None = None,
) -> str:
    """One line when a trial ends: `trial 3: pruned after epoch 2 (val accuracy 0.5000)`,
    `trial 0: complete, validation accuracy 0.9264 (12.3 s)`, `trial 4: failed: <why>`."""
    took = f" ({seconds:.1f} s)" if seconds is not None else ""
    scored = f"{objective} {score:.4f}" if score is not None else f"{objective} not scored"
    if state == "pruned":
        at = f" after epoch {pruned_epoch + 1}" if pruned_epoch is not None else ""
        return f"trial {number}: pruned{at}, {scored}{took}"
    if state == "fail":
        return f"trial {number}: failed{took}: {error or 'no reason recorded'}"
    return f"trial {number}: {state}, {scored}{took}"
