"""The `search:` section: distributions over recipe field paths, checked at load time.

Every parameter names a recipe field by its dotted path (`training.optimizer.learning_rate`,
`training.metrics.0.name`, `model.params.hidden_units`). `check` walks the validated recipe
to refuse unknown paths (with did-you-mean) and then validates the recipe with sample values
applied (every choice; the whole grid when the space is finite and small), so a search never
starts a trial whose recipe cannot load. Nothing here imports TensorFlow or Optuna.
"""

from __future__ import annotations

import builtins
import copy
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

GRID_CAP = 64  # finite spaces up to this many points are validated point by point


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Distribution(_Strict):
    """Exactly one of loguniform/uniform/int (a [low, high] pair) or choice (a list)."""

    loguniform: tuple[float, float] | None = None
    uniform: tuple[float, float] | None = None
    int: tuple[builtins.int, builtins.int] | None = None
    choice: list[Any] | None = None
    step: Annotated[float, Field(gt=0)] | None = None
    log: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> Distribution:
        kinds = [k for k in ("loguniform", "uniform", "int", "choice") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of loguniform: [low, high], uniform: [low, high], "
                f"int: [low, high] or choice: [...] (got {', '.join(kinds) or 'none'})"
            )
        kind = kinds[0]
        if kind == "choice":
            if self.step is not None or self.log:
                raise ValueError("step and log apply to int/uniform ranges, not to choice")
            return self
        low, high = getattr(self, kind)
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"{kind} bounds must be finite numbers, got [{low}, {high}]")
        if low > high:
            raise ValueError(f"{kind}: low {low} > high {high}; write [low, high]")
        if kind == "loguniform" and low <= 0:
            raise ValueError(
                f"loguniform bounds must be > 0 (got low {low}); use uniform for ranges "
                "that include 0 or negatives"
            )
        if self.log and low <= 0:
            raise ValueError(f"log: true needs low > 0 (got {low})")
        if self.log and self.step is not None:
            raise ValueError("step and log cannot be combined (Optuna refuses it)")
        if kind == "loguniform" and (self.step is not None or self.log):
            raise ValueError("loguniform takes no step/log; it is already log-scaled")
        if kind == "int" and self.step is not None and self.step != round(self.step):
            raise ValueError(f"int step must be a whole number, got {self.step}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("loguniform", "uniform", "int", "choice") if getattr(self, k))

    def points(self) -> Sequence[Any] | None:
        """Every value when the distribution is finite (choice, int), else None. An int
        range over GRID_CAP points stays a lazy `range`: `int: [1, 10**9]` is never held
        in memory (smaller ones are listed)."""
        if self.choice is not None:
            return list(self.choice)
        if self.int is not None and not self.log:
            step = int(self.step or 1)
            points = range(self.int[0], self.int[1] + 1, step)
            return list(points) if len(points) <= GRID_CAP else points
        return None

    def size(self) -> builtins.int | None:
        """How many values `points()` holds, counted without listing them (None: a
        continuous range)."""
        points = self.points()
        return None if points is None else len(points)

    def samples(self) -> list[Any]:
        """Values to validate the recipe with: every choice, every point of a small int
        range, or both ends of a range (a large int range: its first and last point)."""
        points = self.points()
        if isinstance(points, range) and len(points) > GRID_CAP:
            return [points[0], points[-1]]
        if points is not None:
            return list(points)
        low, high = getattr(self, self.kind)
        return [low, high]


class Objective(_Strict):
    """What a trial scores: `metric` on `split` (scored after training), and its direction."""

    split: Literal["train", "validation", "test"] = "validation"
    metric: str = "accuracy"
    direction: Literal["auto", "maximize", "minimize"] = "auto"


class Search(_Strict):
    """The `search:` section: parameters, objective, budget, sampler and pruner."""

    parameters: dict[str, Distribution]
    objective: Objective = Objective()
    trials: PositiveInt = 10
    timeout: Annotated[float, Field(gt=0)] | None = None  # seconds for the whole study
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    pruner: Literal["median", "hyperband"] | None = "median"

    @model_validator(mode="after")
    def _some(self) -> Search:
        if not self.parameters:
            raise ValueError("parameters is empty: name at least one recipe field to vary")
        if self.sampler == "grid":
            infinite = [p for p, d in self.parameters.items() if d.points() is None]
            if infinite:
                raise ValueError(
                    f"sampler grid needs finite choices; {', '.join(infinite)} is a continuous "
                    "range (use choice: [...] or sampler tpe/random)"
                )
        return self


# ------------------------------------------------------------------- field paths
def split_path(path: str) -> list[str | int]:
    """`training.metrics[0].name` or `training.metrics.0.name` as keys (ints for indices)."""
    parts = re.findall(r"[^.\[\]]+", path)
    return [int(p) if p.isdigit() else p for p in parts]


def set_path(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of the raw recipe mapping with `path` set to `value`."""
    out = copy.deepcopy(raw)
    node: Any = out
    keys = split_path(path)
    for key in keys[:-1]:
        if isinstance(node, list):
            node = node[key]  # type: ignore[index]
            continue
        child = node.get(key)
        if isinstance(child, str):  # Name shorthand (`optimizer: adam`) becomes a mapping.
            child = {"name": child}
        if not isinstance(child, (dict, list)):
            child = {}
        node[key] = child
        node = child
    last = keys[-1]
    if isinstance(node, list):
        node[last] = value  # type: ignore[index]
    else:
        node[last] = value
    return out


def apply(raw: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The raw recipe with every searched field set (the `search:` section dropped)."""
    out = {k: v for k, v in raw.items() if k != "search"}
    for path, value in params.items():
        out = set_path(out, path, value)
    return out


def trial_raw(raw: Mapping[str, Any], search: Search, params: Mapping[str, Any]) -> dict[str, Any]:
    """The raw recipe a trial runs: `params` applied, and the objective's split scored
    after training (added to `evaluation.splits` when the recipe does not score it)."""
    out = apply(raw, params)
    evaluation = dict(out.get("evaluation") or {})
    splits = list(evaluation.get("splits") or ["test"])
    if search.objective.split not in splits:
        evaluation["splits"] = [*splits, search.objective.split]
        out["evaluation"] = evaluation
    return out


def problems(raw: Mapping[str, Any], recipe: Any, validate: Any) -> list[tuple[str, str]]:
    """(field path, message) for everything wrong with `recipe.search`, checked before any
    training: unknown paths, an objective without a direction, and every sampled recipe
    that does not validate (`validate(raw)` raises the loader's RecipeError)."""
    search: Search = recipe.search
    found: list[tuple[str, str]] = []
    for path in search.parameters:
        why = path_problem(recipe, path)
        if why:
            found.append((f"search.parameters.{path}", why))
    if direction(search.objective) is None:
        found.append(
            (
                "search.objective.direction",
                f"zoo does not know whether {search.objective.metric!r} should go up or down; "
                "set direction: maximize or minimize",
            )
        )
    found.extend(_objective_problems(search, recipe))
    if found:
        return found
    seen: set[str] = set()
    for params in sample_points(search):
        try:
            validate(trial_raw(raw, search, params))
        except Exception as exc:  # The loader's RecipeError: report it once per message.
            inner = getattr(exc, "problems", None)
            lines = [f"{p.path}: {p.message}" for p in inner] if inner else [str(exc)]
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            for line in lines:
                if line not in seen:
                    seen.add(line)
                    found.append(
                        ("search.parameters", f"with {shown} the recipe is invalid: {line}")
                    )
    return found


def _objective_problems(search: Search, recipe: Any) -> list[tuple[str, str]]:
    """The objective must be a score the trial writes (else every trial trains, then
    fails), and a pruner needs it logged every epoch."""
    from zoo.config.catalog import metric_log_name

    def names(metrics: Any) -> set[str]:
        return {"loss", *(metric_log_name(m.name, m.k) for m in metrics)}

    objective = search.objective
    evaluated = recipe.evaluation.metrics
    scored = names(recipe.training.metrics if evaluated is None else evaluated)
    found = []
    if objective.metric not in scored:
        source = "training.metrics" if evaluated is None else "evaluation.metrics"
        found.append(
            (
                "search.objective.metric",
                f"{objective.metric!r} is not scored: each trial scores "
                f"{', '.join(sorted(scored))} on the {objective.split} split ({source}); add it "
                f"to {source}, or choose one of those",
            )
        )
    elif search.pruner is not None and objective.metric not in names(recipe.training.metrics):
        found.append(
            (
                "search.pruner",
                f"{search.pruner} pruning watches {objective.metric!r} every epoch, but "
                "training.metrics does not log it; add it to training.metrics, or set "
                "pruner: null",
            )
        )
    return found


def path_problem(recipe: BaseModel, path: str) -> str | None:
    """Why `path` names no field of `recipe` (with did-you-mean), or None if it may."""
    from zoo.errors import did_you_mean

    node: Any = recipe
    walked: list[str] = []
    for key in split_path(path):
        where = ".".join(walked) or "the recipe"
        if node is None:
            return None  # An optional section left out: validation with a value decides.
        if isinstance(node, BaseModel):
            fields = [f for f in type(node).model_fields if f != "search"]
            if not isinstance(key, str) or key not in fields:
                return f"{where} has no field {key!r}.{did_you_mean(str(key), fields)}"
            node = getattr(node, key)
        elif isinstance(node, dict):
            return None  # model.params and other maps: the builder's checks decide.
        elif isinstance(node, (list, tuple)):
            if not isinstance(key, int) or not 0 <= key < len(node):
                return f"{where} is a list of {len(node)}; {key!r} is not an index in it"
            node = node[key]
        else:
            return f"{where} is a plain value ({type(node).__name__}); it has no field {key!r}"
        walked.append(str(key))
    return None


def sample_points(search: Search) -> list[dict[str, Any]]:
    """Parameter sets to validate: the whole grid when finite and small, else each
    sample of each parameter with the others at their first sample."""
    names = list(search.parameters)
    samples = [search.parameters[n].samples() for n in names]
    total = math.prod(len(s) for s in samples)
    finite = all(search.parameters[n].points() is not None for n in names)
    if finite and total <= GRID_CAP:
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*samples)]
    base = {n: s[0] for n, s in zip(names, samples, strict=True)}
    out = []
    for name, values in zip(names, samples, strict=True):
        out.extend({**base, name: v} for v in values)
    return out


def direction(objective: Objective) -> str | None:
    """`maximize`/`minimize`: given, or inferred from the metric's known mode."""
    if objective.direction != "auto":
        return objective.direction
    from zoo.config.catalog import quantity_mode

    mode = quantity_mode(objective.metric)
    return {"max": "maximize", "min": "minimize"}.get(mode or "")
