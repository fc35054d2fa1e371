"""The model registry: one decorator fills one dict, and `build_model` is the single door.

Builders are plain functions with keyword-only parameters that return a `keras.Model`.
The registry reads their signatures (without importing Keras) so a recipe's model name
and parameters can be checked, with suggestions, before TensorFlow is ever loaded.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pydantic

from zoo.errors import RegistryError, did_you_mean

if TYPE_CHECKING:
    import keras

Builder = Callable[..., "keras.Model"]
# A builder's rules across its parameters: the parameters (defaults filled in; data
# parameters such as input_shape only once the data is known) → (parameter, message) for
# each combination the builder cannot build. Plain Python, so recipes are checked by
# them before TensorFlow loads; the builder enforces the same function (`enforce`).
ParamRules = Callable[[Mapping[str, Any]], Iterable[tuple[str, str]]]

# Parameters the trainer fills in from the dataset when a recipe leaves them out.
DATA_PARAMETERS = ("input_shape", "num_classes", "vocabulary_size", "sequence_length", "sparse")


@dataclass(frozen=True)
class ModelEntry:
    """One registered builder with what a user needs to pick it."""

    name: str
    builder: Builder = field(repr=False)
    task: str
    description: str
    # Export format name → why no model of this builder can ever be converted to it,
    # whatever its parameters (see `register_model`).
    cannot_export: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    rules: ParamRules | None = field(default=None, repr=False, hash=False)

    @cached_property
    def parameters(self) -> dict[str, inspect.Parameter]:
        return dict(inspect.signature(self.builder).parameters)

    @cached_property
    def _params_model(self) -> type[pydantic.BaseModel]:
        fields: dict[str, Any] = {}
        for p in self.parameters.values():
            annotation = Any if p.annotation is inspect.Parameter.empty else p.annotation
            default = ... if p.default is inspect.Parameter.empty else p.default
            fields[p.name] = (annotation, default)
        return pydantic.create_model(
            f"{self.name}_parameters",
            __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True),
            **fields,
        )

    def check_params(self, params: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        """Problems with `params` as (path below the parameters, message); empty if fine."""
        problems = []
        for name in params:
            if name not in self.parameters:
                problems.append(
                    (
                        (str(name),),
                        f"model {self.name!r} has no parameter {name!r}."
                        + did_you_mean(name, self.parameters)
                        + f" Its parameters: {', '.join(self.parameters)}.",
                    )
                )
        known = {k: v for k, v in params.items() if k in self.parameters}
        try:
            self._params_model.model_validate(known)
        except pydantic.ValidationError as exc:
            for err in exc.errors():
                if err["type"] == "missing":
                    continue  # Required data parameters are filled in by the trainer.
                loc = tuple(str(p) for p in err["loc"])
                problems.append((loc, f"{err['msg']} (got {err.get('input')!r})."))
        if self.rules is not None and not problems:
            defaults = {
                p.name: p.default
                for p in self.parameters.values()
                if p.default is not inspect.Parameter.empty
            }
            problems += [((name,), msg) for name, msg in self.rules({**defaults, **known})]
        return problems

    def coerce_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """`params` converted to the annotated types (YAML lists become tuples, ...)."""
        problems = self.check_params(params)
        if problems:
            lines = "; ".join(f"{'.'.join(loc)}: {msg}" for loc, msg in problems)
            raise RegistryError(f"Bad parameters for model {self.name!r}: {lines}")
        validated = self._params_model.model_validate(dict(params))
        return {k: getattr(validated, k) for k in params}


_REGISTRY: dict[str, ModelEntry] = {}
_BUILTIN_FAMILIES = ("zoo.models",)


def register_model(
    name: str | None = None,
    *,
    task: str,
    description: str | None = None,
    cannot_export: Mapping[str, str] | None = None,
    rules: ParamRules | None = None,
) -> Callable[[Builder], Builder]:
    """Decorator adding a builder to the registry under `name` (default: function name).

    `description` defaults to the first line of the builder's docstring.
    `cannot_export` maps an export format's name (`litert`) to why this builder's models
    can never be converted to it, whatever their parameters (a layer every model has and
    the format lacks): the recipe rules (zoo/config/rules.py) then refuse that format at
    load time, before TensorFlow is imported, so `--dry-run` says so. It restates, for the
    recipe alone to decide, what the format's own layer check (`Format.unconvertible`)
    finds in the built model before training; tests/test_export_matrix.py holds the two
    to agree. Conditions that depend on parameters are left to that layer check.
    `rules` checks parameters against each other (see `ParamRules`), so that `--dry-run`
    refuses, say, a ResNet depth that does not fit its stages.
    """

    def decorator(builder: Builder) -> Builder:
        key = name or builder.__name__
        if key in _REGISTRY and _REGISTRY[key].builder is not builder:
            raise ValueError(f"A model named {key!r} is already registered.")
        doc = (inspect.getdoc(builder) or "").strip()
        summary = description or (doc.splitlines()[0] if doc else key)
        _REGISTRY[key] = ModelEntry(
            name=key,
            builder=builder,
            task=task,
            description=summary,
            cannot_export=dict(cannot_export or {}),
            rules=rules,
        )
        return builder

    return decorator


def enforce(rules: ParamRules, **params: Any) -> None:
    """Raise ValueError with `rules`' first problem for `params`: how a builder applies
    its registered rules when called directly, outside a recipe."""
    for _, message in rules(params):
        raise ValueError(message)


def _load_builtins() -> None:
    for module in _BUILTIN_FAMILIES:
        importlib.import_module(module)


def list_models(pattern: str | None = None, *, task: str | None = None) -> list[str]:
    """Sorted registered names, filtered by a shell wildcard (`"*cnn*"`) and/or a task."""
    _load_builtins()
    names = sorted(_REGISTRY)
    if pattern:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if task:
        names = [n for n in names if _REGISTRY[n].task == task]
    return names


def get_model_entry(name: str) -> ModelEntry:
    """The entry for `name`; an unknown name raises `RegistryError` naming the closest."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise RegistryError(
            f"Unknown model {name!r}."
            + did_you_mean(name, _REGISTRY)
            + f" Registered models: {', '.join(sorted(_REGISTRY))}."
        ) from None


def build_model(name: str, **params: Any) -> keras.Model:
    """Build the registered model `name`; unknown or ill-typed parameters raise first.

    The registry never loads weights: `zoo.build_model(name, weights=PRESET)` (zoo/api.py)
    does, one layer up, through the verified preset loader."""
    entry = get_model_entry(name)
    return entry.builder(**entry.coerce_params(params))


def with_data_params(
    name: str, params: Mapping[str, Any], data_params: Mapping[str, Any]
) -> dict[str, Any]:
    """`params` for builder `name`, completed with what the data determines (input shape,
    class count, vocabulary size, sequence length) where the builder takes it and the
    recipe left it out: the recipe's own value always wins."""
    entry = get_model_entry(name)
    out = dict(params)
    for key in DATA_PARAMETERS:
        if key in entry.parameters and key not in out and key in data_params:
            out[key] = data_params[key]
    return out
