"""Results: one row per run zoo left anywhere under the given folders, as CSV and Markdown.

Why a view of *every* run: a table that keeps only finished runs hides exactly the runs a
user needs to find (the one that failed overnight, the one killed mid-epoch, the trials a
search pruned). So the folders are walked recursively and every run, search, search trial
and preset becomes a row with its status; a folder whose records cannot be read (corrupt
JSON, a list where a mapping belongs, nesting too deep, a string where a number belongs)
becomes a row saying why, never a traceback and never a silent gap.

Rows are read from the files each run already carries (`status.json`, `metrics.json`,
`recipe.yaml`, `builder.json`, `history.csv`, the preset manifest), through bounded reads,
so the table needs neither TensorFlow nor the data. Filtering, sorting and the table
itself are in `zoo.usecases.results_table`.

Where the speed figures come from: `train_examples_per_s` is `metrics.json`
`training.examples_per_second` (the trainer's, zoo/training/throughput.py: training
examples per second over fit, the first epoch left out); `batch1_latency_ms` and
`batch1_format` are the fastest format among the run's verified exports (`metrics.json`
`export`, each timed at batch 1 in the fresh checking process, zoo/exporting/verify.py).
A preset's `metrics.json` is its run's, so both rows agree. Runs and presets from before
these figures have no such fields: their cells stay empty.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from zoo.config import yaml_limits
from zoo.errors import ZooError
from zoo.runs import layout
from zoo.runs.layout import LOCK, MANIFEST, METRICS, RECIPE, STATUS

MAX_JSON_BYTES = 16 * 1024 * 1024  # A run's metrics.json is a few KiB; more is not ours.
MAX_FOLDER_DEPTH = 12  # Below a given folder; deeper folders are not walked.
MAX_FIELDS = 2000  # Flattened recipe fields per row (a recipe has about a hundred).
NOTE_CHARS = 120  # A failure reason is cut to this in the table.


class Unreadable(Exception):
    """A run's record that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Row:
    """One run, search, search trial or preset. `status` is one of finished, failed,
    interrupted, running, pruned, preset, search, unreadable (see `_status`)."""

    recipe: str
    model: str
    parameters: int | None
    size_mb: float | None
    test: dict[str, float] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)  # A search trial's objective.
    training_seconds: float | None = None
    train_examples_per_s: float | None = None
    batch1_latency_ms: float | None = None
    batch1_format: str | None = None  # The verified export that answered fastest.
    hardware: str = ""
    weights: str = ""
    status: str = "finished"
    kind: str = "run"  # run | trial | search | preset | unreadable
    date: str = ""
    epochs: int | None = None
    note: str = ""
    fields: dict[str, Any] = field(default_factory=dict)  # The flattened recipe.


# ------------------------------------------------------------------ bounded reads
def _read_json(path: Path, *, required: bool = True) -> dict[str, Any] | None:
    """The mapping in `path`; None when absent and not required; `Unreadable` else."""
    try:
        text = yaml_limits.read_text(path, MAX_JSON_BYTES)
    except FileNotFoundError:
        if required:
            raise Unreadable(f"{path.name} is missing") from None
        return None
    except (OSError, ValueError) as exc:
        raise Unreadable(f"{path.name}: {exc}") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise Unreadable(f"{path.name} is nested too deeply to read") from None
    except ValueError as exc:
        raise Unreadable(f"{path.name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Unreadable(f"{path.name} holds a {type(data).__name__} where a mapping belongs")
    return data


def _mapping(data: dict[str, Any], key: str, file: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise Unreadable(f"{file}: `{key}` is a {type(value).__name__} where a mapping belongs")
    return value


def _number(value: Any, where: str, *, integer: bool = False) -> Any:
    """`value` when it is a number (None passes); `Unreadable` naming `where` else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unreadable(f"{where} is {value!r}, where a number belongs")
    if integer and (not float(value).is_integer()):
        raise Unreadable(f"{where} is {value!r}, where a whole number belongs")
    return int(value) if integer else float(value)


def _fastest(export: dict[str, Any], file: str) -> tuple[float | None, str | None]:
    """(batch-1 ms, format) of the fastest verified export in `metrics.json` `export`;
    (None, None) when no verified export was timed (older runs: no latency recorded)."""
    best: tuple[float | None, str | None] = (None, None)
    for kind, record in sorted(export.items()):
        if not isinstance(record, dict):
            raise Unreadable(
                f"{file}: `export.{kind}` is a {type(record).__name__} where a mapping belongs"
            )
        ms = _number(record.get("batch1_latency_ms"), f"{file}: export.{kind}.batch1_latency_ms")
        if record.get("ok") is True and ms is not None and (best[0] is None or ms < best[0]):
            best = (ms, str(kind))
    return best


def _speed(training: dict[str, Any], metrics: dict[str, Any], file: str) -> dict[str, Any]:
    """The Row's speed fields from `metrics.json` (empty cells when it has none)."""
    latency, fmt = _fastest(_mapping(metrics, "export", file), file)
    return {
        "train_examples_per_s": _number(
            training.get("examples_per_second"), f"{file}: training.examples_per_second"
        ),
        "batch1_latency_ms": latency,
        "batch1_format": fmt,
    }


def _recipe_fields(folder: Path) -> dict[str, Any]:
    """The run's recipe.yaml flattened to dotted keys ({} when there is none)."""
    path = folder / RECIPE
    try:
        data, _ = yaml_limits.load(yaml_limits.read_text(path))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # LimitError and YAMLError are ValueErrors.
        raise Unreadable(f"{RECIPE}: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Unreadable(f"{RECIPE} holds a {type(data).__name__} where a mapping belongs")
    return flatten(data)


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """{"a": {"b": 1}} → {"a.b": 1}; lists stay values (shown as JSON)."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict) and value:
            stack.extend((f"{prefix}{k}.", v) for k, v in value.items())
        else:
            out[prefix[:-1]] = value
            if len(out) > MAX_FIELDS:
                raise Unreadable(f"{RECIPE} has more than {MAX_FIELDS} fields")
    return dict(sorted(out.items()))


def _hardware(card: Path) -> str:
    try:
        lines = yaml_limits.read_text(card, MAX_JSON_BYTES).splitlines()
    except (OSError, ValueError):
        return ""
    for line in lines:
        if line.startswith("- hardware:"):
            return line.split(":", 1)[1].strip()
    return ""


def _epochs_in_history(folder: Path) -> int | None:
    """Completed epochs of a run that never wrote metrics.json: rows of history.csv."""
    try:
        with open(folder / layout.HISTORY, "rb") as f:
            lines = sum(1 for line in f if line.strip())
    except OSError:
        return None
    return max(lines - 1, 0)


def _date(iso: Any, fallback: Path) -> str:
    if isinstance(iso, str):
        try:
            return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            pass
    try:
        return datetime.fromtimestamp(fallback.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    except OSError:
        return ""


def _shown(path: Path) -> str:
    """Where the folder lives, without this machine's home folder."""
    resolved = path.resolve()
    try:
        if resolved.is_relative_to(Path.cwd()):
            return os.path.relpath(resolved)
    except (ValueError, OSError):
        return str(resolved)
    home = Path.home().resolve()
    return (
        "~/" + resolved.relative_to(home).as_posix()
        if resolved.is_relative_to(home)
        else str(resolved)
    )


def _size_mb(folder: Path) -> float | None:
    try:
        return round((folder / layout.MODEL).stat().st_size / 1e6, 2)  # Raw-input model.
    except OSError:
        return None


# ------------------------------------------------------------------ one folder
def _lock_alive(folder: Path) -> bool:
    """A live zoo process (this host) holds the folder's lock."""
    import socket

    from zoo.runs.lock import alive

    try:
        info = json.loads(yaml_limits.read_text(folder / LOCK, 64 * 1024))
    except (OSError, ValueError, RecursionError):
        return False
    pid = info.get("pid") if isinstance(info, dict) else None
    same_host = isinstance(info, dict) and info.get("host") == socket.gethostname()
    return isinstance(pid, int) and same_host and alive(pid)


def _status(folder: Path, status: dict[str, Any] | None, finished: bool) -> tuple[str, str]:
    """(status, note) of a run folder from status.json, metrics.json and the lock."""
    stage = (status or {}).get("stage")
    reason = str((status or {}).get("reason") or "")
    if stage == "finished" or (stage is None and finished):
        return "finished", ""
    if stage in ("failed", "pruned"):
        return stage, reason
    if _lock_alive(folder):
        return "running", f"at stage {stage}" if stage else ""
    return "interrupted", f"stopped during {stage}" if stage else "stopped before it began"


def run_row(folder: Path, kind: str = "run") -> Row:
    """The row of a run folder (any status); `Unreadable` when its records are broken."""
    manifest = _read_json(folder / MANIFEST, required=False) or {}
    status = _read_json(folder / STATUS, required=False)
    metrics = _read_json(folder / METRICS, required=False)
    fields = _recipe_fields(folder)
    state, note = _status(folder, status, metrics is not None)
    training = _mapping(metrics or {}, "training", METRICS)
    test = _mapping(metrics or {}, "test", METRICS)
    validation = _mapping(metrics or {}, "validation", METRICS)
    builder = _read_json(folder / layout.BUILDER, required=False) or {}
    model = builder.get("name") or fields.get("model.name") or "?"
    epochs = _number(training.get("epochs"), f"{METRICS}: training.epochs", integer=True)
    return Row(
        recipe=str(manifest.get("recipe") or fields.get("name") or folder.name),
        model=str(model),
        parameters=_number(
            training.get("parameters"), f"{METRICS}: training.parameters", integer=True
        ),
        size_mb=_size_mb(folder) if metrics is not None else None,
        test={k: _number(v, f"{METRICS}: test.{k}") for k, v in test.items()},
        validation={k: _number(v, f"{METRICS}: validation.{k}") for k, v in validation.items()},
        training_seconds=_number(training.get("seconds"), f"{METRICS}: training.seconds"),
        **_speed(training, metrics or {}, METRICS),
        hardware=_hardware(folder / layout.CARD),
        weights=_shown(folder),
        status=state,
        kind=kind,
        date=_date((status or {}).get("updated"), folder / STATUS if status else folder),
        epochs=epochs if epochs is not None else _epochs_in_history(folder),
        note=note[:NOTE_CHARS],
        fields=fields,
    )


def preset_row(folder: Path) -> Row:
    from zoo.presets import format as fmt

    manifest = _read_json(folder / fmt.MANIFEST)
    config = _read_json(folder / fmt.CONFIG)
    metrics = _read_json(folder / fmt.METRICS)
    training = _mapping(metrics, "training", fmt.METRICS)
    test = _mapping(metrics, "test", fmt.METRICS)
    epochs = _number(training.get("epochs"), f"{fmt.METRICS}: training.epochs", integer=True)
    return Row(
        recipe=str(manifest.get("recipe", folder.name)),
        model=str(config.get("builder", "?")),
        parameters=_number(
            training.get("parameters"), f"{fmt.METRICS}: training.parameters", integer=True
        ),
        size_mb=_size_mb(folder),
        test={k: _number(v, f"{fmt.METRICS}: test.{k}") for k, v in test.items()},
        training_seconds=_number(training.get("seconds"), f"{fmt.METRICS}: training.seconds"),
        **_speed(training, metrics, fmt.METRICS),
        hardware=_hardware(folder / fmt.CARD),
        weights=_shown(folder),
        status="preset",
        kind="preset",
        date=_date(manifest.get("created"), folder / fmt.MANIFEST),
        epochs=epochs,
        fields=_recipe_fields(folder),
    )


def search_row(folder: Path, trials: list[Row]) -> Row:
    """A search's own row: its recipe, trial count by status, best objective."""
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    name = folder.name.removesuffix("-search")
    recipes = {t.recipe for t in trials if t.kind == "trial"}
    return Row(
        recipe=recipes.pop() if len(recipes) == 1 else name,
        model=next((t.model for t in trials if t.model != "?"), "?"),
        parameters=None,
        size_mb=None,
        weights=_shown(folder),
        status="search",
        kind="search",
        date=_date(None, folder),
        note=f"{len(trials)} trials" + (f": {summary}" if summary else ""),
    )


def unreadable_row(folder: Path, reason: str) -> Row:
    return Row(
        recipe=folder.name,
        model="?",
        parameters=None,
        size_mb=None,
        weights=_shown(folder),
        status="unreadable",
        kind="unreadable",
        date=_date(None, folder),
        note=reason[: NOTE_CHARS * 2],
    )


# ------------------------------------------------------------------ walking
def _is_run(folder: Path) -> bool:
    return any((folder / n).exists() for n in (MANIFEST, STATUS, METRICS))


def _is_search(folder: Path) -> bool:
    return (folder / "trials").is_dir() and any(
        (folder / n).exists() for n in ("study.db", "trials.csv", "best.yaml", ".ask.lock")
    )


def _guarded(folder: Path, read: Any, *args: Any) -> Row:
    try:
        return read(folder, *args)
    except Unreadable as exc:
        return unreadable_row(folder, str(exc))


def _subfolders(folder: Path) -> list[Path]:
    """Visible subfolders, sorted; symbolic links are not followed (no cycles)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise Unreadable(f"cannot list the folder ({exc.strerror or exc})") from None
    return [
        Path(e.path)
        for e in entries
        if e.is_dir(follow_symlinks=False) and not e.name.startswith((".", "__"))
    ]


def _walk(folder: Path, depth: int = 0, kind: str = "run") -> Iterator[Row]:
    from zoo.presets import format as fmt

    if fmt.is_preset(folder):
        yield _guarded(folder, preset_row)
        return
    if _is_search(folder):  # Before runs: a study folder has a manifest too (kind "study").
        trials = [r for sub in _safe_subfolders(folder / "trials") for r in _walk(sub, 1, "trial")]
        yield search_row(folder, trials)
        yield from trials
        return
    if _is_run(folder):
        try:
            manifest = _read_json(folder / MANIFEST, required=False)
        except Unreadable as exc:
            yield unreadable_row(folder, str(exc))
            return
        if (manifest or {}).get("kind", "run") == "run":
            yield _guarded(folder, run_row, kind)
        return  # An evaluation folder, or a run: nothing to walk below.
    if depth >= MAX_FOLDER_DEPTH:
        return
    try:
        children = _subfolders(folder)
    except Unreadable as exc:
        yield unreadable_row(folder, str(exc))
        return
    for child in children:
        yield from _walk(child, depth + 1)


def _safe_subfolders(folder: Path) -> list[Path]:
    try:
        return _subfolders(folder)
    except Unreadable:
        return []


def collect(paths: Iterable[str | os.PathLike[str]]) -> list[Row]:
    """Rows of every run, search, trial and preset at or below each path, in the order
    given then found (each folder once)."""
    rows: list[Row] = []
    seen: set[str] = set()
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            raise ZooError(f"zoo results: {path} is not a folder; give run or preset folders.")
        found = list(_walk(path))
        if not found:
            raise ZooError(
                f"{path} holds no zoo run, search or preset (looked {MAX_FOLDER_DEPTH} folders "
                "deep); give run folders (runs/<recipe>-<time>), preset folders, or a folder "
                "of them."
            )
        for r in found:
            key = str(Path(r.weights).expanduser().resolve())
            if key not in seen:
                seen.add(key)
                rows.append(r)
    return rows
