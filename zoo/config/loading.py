"""Recipe files → a validated, frozen `Recipe`, or one `RecipeError` listing every problem.

Steps: read YAML safely (keeping each key's line) → follow `extends:` (the child wins,
mappings merge key by key, lists are replaced; a child naming another model drops the
parent's model.params) → apply `--set a.b=c` overrides → check
the result against `zoo.config.schema` and the model registry. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import copy
import inspect
import os
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

from zoo.config import builtin, yaml_limits
from zoo.config.paths import is_symbolic
from zoo.config.schema import Recipe
from zoo.errors import RegistryError, ZooError, did_you_mean

# Recipe fields holding file-system paths: resolved against the file that sets them
# (a `zoo-data://` path stays symbolic until data is read: see zoo/config/paths.py).
PATH_FIELDS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("data", "data_dir"),
        ("data", "manual_dir"),
        ("data", "path"),
        ("data", "extract_dir"),
    }
)

Key = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe: where (file:line and key path) and what to do."""

    path: str
    message: str
    origin: str = ""

    def __str__(self) -> str:
        if self.origin and not self.path:  # The file as a whole: "r.yaml:3: is not ...".
            return f"{self.origin}: {self.message}"
        where = f"{self.origin}: " if self.origin else ""
        return f"{where}{self.path or '(top level)'}: {self.message}"


class RecipeError(ZooError):
    """Every problem found in one recipe, reported together."""

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.source = source
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"Recipe {self.source} has {count} problem{'s' if count != 1 else ''}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


# ----------------------------------------------------------------------- reading YAML
def _lines(node: yaml.Node, key: Key, origin: str, out: dict[Key, str]) -> None:
    """Record `file:line` for every key path in a composed YAML node tree."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            path = (*key, k.value)
            out[path] = f"{origin}:{k.start_mark.line + 1}"
            _lines(v, path, origin, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out[(*key, i)] = f"{origin}:{v.start_mark.line + 1}"
            _lines(v, (*key, i), origin, out)


def _refusal(shown: str, message: str, line: int | None = None) -> RecipeError:
    origin = f"{shown}:{line}" if line else shown
    return RecipeError(shown, [Problem("", message, origin)])


def _read_yaml(path: Path, shown: str) -> tuple[dict[str, Any], dict[Key, str]]:
    """One YAML file as (mapping, key origins), within the limits of `yaml_limits`."""
    try:
        text = yaml_limits.read_text(path)
    except FileNotFoundError:
        raise _refusal(shown, "file not found; check the path.") from None
    except yaml_limits.LimitError as exc:
        raise _refusal(shown, str(exc), exc.line) from None
    except OSError as exc:  # Permission denied, a dangling link, an I/O error...
        reason = exc.strerror or type(exc).__name__
        raise _refusal(shown, f"cannot be read ({reason}); check the path.") from None
    try:
        data, node = yaml_limits.load(text)
    except yaml_limits.LimitError as exc:
        raise _refusal(shown, str(exc), exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc)
        raise _refusal(
            shown, f"is not valid YAML: {what}. Fix the syntax there.", mark and mark.line + 1
        ) from None
    except (ValueError, OverflowError, TypeError, RecursionError) as exc:
        # E.g. a timestamp-looking value that is no date (2024-13-45).
        raise _refusal(
            shown, f"holds a value YAML cannot build ({exc}); quote it to keep it a string."
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _refusal(
            shown,
            f"must be a mapping of sections (model:, data:, ...), not a {type(data).__name__}.",
        )
    origins: dict[Key, str] = {}
    if node is not None:
        _lines(node, (), shown, origins)
    return data, origins


def path_fields(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(mapping, key, value) for each path field (PATH_FIELDS) a raw or dumped recipe
    sets to a string: the one walk for resolving, relativising and comparing paths."""
    for field in PATH_FIELDS:
        parent: Any = data
        for part in field[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        value = parent.get(field[-1]) if isinstance(parent, dict) else None
        if isinstance(value, str):
            yield parent, field[-1], value


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for parent, key, value in path_fields(data):
        if not is_symbolic(value):
            parent[key] = str((base / os.path.expanduser(value)).resolve())


# Where a builder's parameters sit in a recipe.
PARAMS = ("model", "params")


def _merge(base: dict[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _extends_target(path: Path, parent: Any, origins: Mapping[Key, str], shown: str) -> Path:
    """The file `extends: parent` in the recipe at `path` names (relative to its folder)."""
    where = origins.get(("extends",), shown)
    if not isinstance(parent, str) or not parent.strip() or "\x00" in parent:
        raise RecipeError(
            shown, [Problem("extends", "must be one file name (a non-empty string).", where)]
        )
    target = path.parent / os.path.expanduser(parent)
    if not os.path.lexists(target) and builtin.find(parent):  # A built-in recipe's name.
        target = builtin.find(parent)
    if not os.path.lexists(target):
        raise RecipeError(
            shown,
            [
                Problem(
                    "extends",
                    f"names {parent!r}, but {target} does not exist. Paths in extends are "
                    "relative to the recipe's own folder, or a built-in recipe's name "
                    f"(zoo list).{did_you_mean(parent, builtin.names())}",
                    where,
                )
            ],
        )
    return target


def _load_tree(path: Path, shown: str) -> tuple[dict[str, Any], dict[Key, str]]:
    """Read `path` and everything it extends, merged, with each key's origin.

    A loop, not a recursion: a chain is at most `yaml_limits.MAX_EXTENDS` files long and
    may not come back to a file already in it.
    """
    chain: list[Path] = []
    layers: list[tuple[dict[str, Any], dict[Key, str]]] = []
    while True:
        try:
            real = path.resolve()
        except (OSError, RuntimeError) as exc:  # A symlink loop.
            raise RecipeError(
                shown, [Problem("extends", f"cannot resolve {path}: {exc}.")]
            ) from None
        if real in chain:
            cycle = " → ".join(p.name for p in (*chain, real))
            raise RecipeError(shown, [Problem("extends", f"extends itself in a cycle: {cycle}.")])
        if len(chain) >= yaml_limits.MAX_EXTENDS:
            raise RecipeError(
                shown,
                [
                    Problem(
                        "extends",
                        f"the extends chain is longer than {yaml_limits.MAX_EXTENDS} files "
                        f"(at {path}); shorten it.",
                    )
                ],
            )
        chain.append(real)
        try:
            data, origins = _read_yaml(path, str(path) if layers else shown)
        except RecipeError as exc:
            if not layers:
                raise
            # A base file's problem, reported under the recipe the user named.
            where = [Problem(p.path or "extends", p.message, p.origin) for p in exc.problems]
            raise RecipeError(shown, where) from None
        _resolve_paths(data, path.parent)
        parent = data.pop("extends", None)
        layers.append((data, origins))
        if parent is None:
            break
        path = _extends_target(path, parent, origins, shown)
    merged: dict[str, Any] = {}
    merged_origins: dict[Key, str] = {}
    for data, origins in reversed(layers):  # The base first; each child wins.
        if _names_another_model(merged, data):
            merged = {
                **merged,
                "model": {k: v for k, v in merged["model"].items() if k != "params"},
            }
            merged_origins = {k: v for k, v in merged_origins.items() if k[:2] != PARAMS}
        merged = _merge(merged, data)
        merged_origins.update(origins)
    return merged, merged_origins


def _names_another_model(base: Mapping[str, Any], child: Mapping[str, Any]) -> bool:
    """Whether `child` names a model other than `base`'s. model.params belong to the
    builder named beside them, so such a child starts from its builder's defaults (plus
    its own params), not from parameters meant for the parent's builder."""
    ours, theirs = child.get("model"), base.get("model")
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return False
    return "name" in ours and ours["name"] != theirs.get("name")


# -------------------------------------------------------------------------- overrides
def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """`'training.epochs=1'` → `(('training', 'epochs'), 1)`; the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    parts = tuple(key.strip().split("."))
    if not sep or not all(parts):
        raise RecipeError(
            "--set",
            [Problem(text, "must look like KEY=VALUE with a dotted key, e.g. training.epochs=1.")],
        )
    if len(parts) > yaml_limits.MAX_DEPTH:
        raise RecipeError(
            "--set", [Problem(key[:80], f"is nested more than {yaml_limits.MAX_DEPTH} deep.")]
        )
    try:
        value = (
            yaml_limits.load(yaml_limits.decode(raw.encode(errors="surrogateescape")))[0]
            if raw.strip()
            else None
        )
    except yaml_limits.LimitError as exc:
        raise RecipeError("--set", [Problem(key, f"value {exc}")]) from None
    except (yaml.YAMLError, ValueError, OverflowError, TypeError):
        value = raw  # Not YAML: keep the literal string.
    if parts in PATH_FIELDS and isinstance(value, str) and not is_symbolic(value):
        value = str(Path(os.path.expanduser(value)).resolve())
    return parts, value


def _child_key(node: Any, part: str, shown: str) -> str | int:
    """How `part` addresses an item of `node`; raises ValueError saying why it cannot."""
    if isinstance(node, dict):
        return part
    if isinstance(node, list):
        if part.isdigit() and int(part) < len(node):
            return int(part)
        raise ValueError(f"is a list of {len(node)} items; use an index from 0 to {len(node) - 1}.")
    raise ValueError(
        f"holds {node!r}, not a mapping, so {part!r} cannot be set below it. "
        f"Set the whole value instead, e.g. {shown}={{{part}: ...}}."
    )


def apply_overrides(
    data: dict[str, Any],
    overrides: Iterable[str],
    origins: dict[Key, str],
    source: str = "--set",
) -> dict[str, Any]:
    """Set each dotted key in a copy of `data`; list items are addressed by index.

    Missing mappings along the way are created, so `--set model.params.x=1` works on a
    recipe without `params`.
    """
    data = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node: Any = data
        for depth, part in enumerate(parts):
            try:
                key = _child_key(node, part, ".".join(parts[:depth]))
            except ValueError as exc:
                where = ".".join(parts[: depth + (isinstance(node, list))])
                raise RecipeError(source, [Problem(where, str(exc), f"--set {text}")]) from None
            if depth == len(parts) - 1:
                node[key] = value
            else:
                if isinstance(node, dict) and not isinstance(node.get(key), dict | list):
                    node[key] = {}
                node = node[key]
        origins[tuple(parts)] = f"--set {text}"
    return data


# ------------------------------------------------------------------------- validation
def _unwrap(annotation: Any, raw: Any) -> type[pydantic.BaseModel] | None:
    """The schema class that describes `raw` under `annotation`, if there is one."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], raw)
    if origin in (typing.Union, types.UnionType):
        candidates = [c for a in typing.get_args(annotation) if (c := _unwrap(a, raw))]
        for cls in candidates:  # Pick the member whose literal tags match the input.
            tags = {
                name: typing.get_args(f.annotation)
                for name, f in cls.model_fields.items()
                if typing.get_origin(f.annotation) is typing.Literal
            }
            if isinstance(raw, dict) and all(raw.get(k, v[0]) in v for k, v in tags.items()):
                return cls
        return candidates[0] if candidates else None
    if inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def _user_path(loc: Sequence[Any], raw: Any) -> tuple[Key, list[str]]:
    """Strip pydantic's union tags from `loc`; also return the keys valid at the end."""
    path: list[str | int] = []
    cls: type[pydantic.BaseModel] | None = Recipe
    node = raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            field = cls.model_fields.get(part) if cls else None
            node = node[part]
            cls = _unwrap(field.annotation, node) if field else None
            if field and cls is None and isinstance(node, list):
                item_type = typing.get_args(_strip_optional(field.annotation))
                cls = _unwrap(item_type[0], None) if item_type else None
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and cls is not None and part in cls.model_fields:
            path.append(part)  # A missing key: report it at its would-be place.
            node = None
        # Anything else is a union tag pydantic adds to the location: not in the file.
    keys = list(cls.model_fields) if cls and isinstance(node, dict) else []
    return tuple(path), keys


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _fmt(path: Key) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _origin(path: Key, origins: Mapping[Key, str], default: str) -> str:
    for end in range(len(path), -1, -1):
        if path[:end] in origins:
            return origins[path[:end]]
    return default


def _schema_problems(raw: dict[str, Any], origins: Mapping[Key, str], source: str) -> list[Problem]:
    try:
        Recipe.model_validate(raw)
    except pydantic.ValidationError as exc:
        errors = exc.errors()
    else:
        return []
    problems = []
    for err in errors:
        kind, given = err["type"], err.get("input")
        if kind == "extra_forbidden":
            parent, valid = _user_path(err["loc"][:-1], raw)
            key = err["loc"][-1]
            path = (*parent, key)
            message = f"unknown key {key!r}.{did_you_mean(key, valid)}" + (
                f" Valid keys here: {', '.join(valid)}." if valid else ""
            )
        else:
            path, _ = _user_path(err["loc"], raw)
            if kind == "missing":
                message = "is required but missing; add it."
            elif kind == "union_tag_invalid":
                tags = [t.strip(" '") for t in str(err["ctx"]["expected_tags"]).split(",")]
                what = err["ctx"]["discriminator"].strip("'")
                if what.endswith("()"):  # A callable discriminator named after its key.
                    what = what.removesuffix("()").lstrip("_")
                    path = (*path, what)
                message = (
                    f"unknown {path[-1] if path else what} {err['ctx']['tag']!r}."
                    f"{did_you_mean(err['ctx']['tag'], tags)} Choose one of: {', '.join(tags)}."
                )
            elif kind == "value_error":
                message = err["msg"].removeprefix("Value error, ").rstrip(".") + "."
            elif kind == "literal_error":
                message = f"{err['msg']} (got {given!r}).{did_you_mean(str(given), _literals(err))}"
            else:
                message = f"{err['msg']} (got {given!r})."
        problems.append(Problem(_fmt(path), message, _origin(path, origins, source)))
    return problems


def _literals(err: Mapping[str, Any]) -> list[str]:
    return [
        t.strip(" '")
        for t in str(err.get("ctx", {}).get("expected", "")).replace(" or ", ",").split(",")
    ]


def _model_problems(raw: dict[str, Any], origins: Mapping[Key, str], source: str) -> list[Problem]:
    """Check the model name and its parameters against the registry (no Keras import)."""
    from zoo.models.registry import get_model_entry

    model = raw.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        return []  # The schema check reports the shape of this section.
    try:
        entry = get_model_entry(model["name"])
    except RegistryError as exc:
        path = ("model", "name")
        return [Problem(_fmt(path), str(exc), _origin(path, origins, source))]
    params = model.get("params") or {}
    if not isinstance(params, dict):
        return []
    return [
        Problem(
            _fmt(("model", "params", *loc)),
            msg,
            _origin(("model", "params", *loc), origins, source),
        )
        for loc, msg in entry.check_params(params)
    ]


def validate(
    raw: Mapping[str, Any], *, source: str = "<recipe>", origins: Mapping[Key, str] | None = None
) -> Recipe:
    """Validate an already-merged recipe mapping; raise `RecipeError` with every problem."""
    raw = dict(raw)
    origins = origins or {}
    problems = _schema_problems(raw, origins, source) + _model_problems(raw, origins, source)
    if problems:
        raise RecipeError(source, problems)
    recipe = Recipe.model_validate(raw)
    problems = _rule_problems(recipe, origins, source)
    if not problems and recipe.search is not None:
        problems = _search_problems(raw, recipe, origins, source)
    if problems:
        raise RecipeError(source, problems)
    return recipe


def _search_problems(
    raw: dict[str, Any], recipe: Recipe, origins: Mapping[Key, str], source: str
) -> list[Problem]:
    """The `search:` section's problems (zoo.config.search_space): every sampled trial recipe
    must validate like this one, so a search never starts a trial that cannot load."""
    from zoo.config import search_space as space

    def check(trial: dict[str, Any]) -> None:
        validate(trial, source=source)

    base = recipe.model_dump(mode="json", exclude={"search"})
    found = space.problems(base, recipe, check)
    return [Problem(p, m, _origin(("search",), origins, source)) for p, m in found]


def _rule_problems(recipe: Recipe, origins: Mapping[Key, str], source: str) -> list[Problem]:
    """`zoo.config.rules` findings as problems, each at the line that set its field."""
    from zoo.config import rules

    out = []
    for path, message in rules.check(recipe):
        key = tuple(int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path))
        out.append(Problem(path, message, _origin(key, origins, source)))
    return out


def recipe_file(recipe: str | os.PathLike[str]) -> Path:
    """The YAML file `recipe` names: an existing path, else a built-in recipe's name
    (`mnist_cnn`); neither raises `RecipeError` with the closest built-in names."""
    path = Path(recipe)
    if path.exists():
        return path
    found = builtin.find(str(recipe))
    if found is not None:
        return found
    if path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path  # Meant as a path: "file not found; check the path." says it best.
    hint = did_you_mean(str(recipe), builtin.names()) or (
        f" Built-in recipes: {', '.join(builtin.names()) or '(none installed)'}."
    )
    raise RecipeError(
        str(recipe),
        [
            Problem(
                "",
                f"is neither a recipe file nor a built-in recipe's name.{hint} "
                "`zoo list` shows the built-in recipes; give a path to use your own.",
            )
        ],
    )


def load_recipe(path: str | os.PathLike[str], overrides: Iterable[str] = ()) -> Recipe:
    """Read, merge, override and validate the recipe at `path`.

    Raises `RecipeError` (a `ZooError`) naming the file, each offending key with its line,
    and what to change.
    """
    shown = str(path)
    path = recipe_file(path)
    data, origins = _load_tree(path, shown)
    data.setdefault("name", path.stem)
    data = apply_overrides(data, overrides, origins, shown)
    return validate(data, source=shown, origins=origins)


def to_yaml(recipe: Recipe) -> str:
    """The fully resolved recipe (defaults filled in) as YAML, loadable again."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
