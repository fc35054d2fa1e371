"""Results tables: one row per finished run or preset, as CSV and Markdown.

Read from the files every run and preset already carries (metrics.json, builder.json or
config.json, model_card.md), so the table needs neither TensorFlow nor the data, and a
row always shows what was measured with those very weights. Columns: recipe, model,
parameters, size on disk, every test metric, training time, hardware, weights.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

FIXED = ("recipe", "model", "parameters", "size_mb")
TAIL = ("training_seconds", "hardware", "weights")
START, END = "<!-- zoo results: start -->", "<!-- zoo results: end -->"


@dataclass(frozen=True)
class Row:
    recipe: str
    model: str
    parameters: int | None
    size_mb: float | None
    test: dict[str, float] = field(default_factory=dict)
    training_seconds: float | None = None
    hardware: str = ""
    weights: str = ""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _hardware(card: Path) -> str:
    try:
        lines = card.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    for line in lines:
        if line.startswith("- hardware:"):
            return line.split(":", 1)[1].strip()
    return ""


def _shown(path: Path) -> str:
    """Where the weights live, without this machine's home folder."""
    resolved = path.resolve()
    try:
        return os.path.relpath(resolved) if resolved.is_relative_to(Path.cwd()) else _home(resolved)
    except ValueError:
        return str(resolved)


def _home(path: Path) -> str:
    home = Path.home().resolve()
    return "~/" + path.relative_to(home).as_posix() if path.is_relative_to(home) else str(path)


def row(folder: Path) -> Row | None:
    """The row of a finished run or a preset folder; None for anything else."""
    from zoo.presets import format as fmt

    metrics = _json(folder / "metrics.json")
    if not metrics or not (folder / "model.keras").is_file():
        return None
    if fmt.is_preset(folder):
        manifest = _json(folder / fmt.MANIFEST)
        config = _json(folder / fmt.CONFIG)
        recipe, model = manifest.get("recipe", folder.name), config.get("builder", "?")
    else:
        run = _json(folder / ".zoo-run.json")
        if run.get("kind", "run") != "run" or _json(folder / "status.json").get("stage") not in (
            None,
            "finished",
        ):
            return None
        recipe = run.get("recipe", folder.name)
        model = _json(folder / "builder.json").get("name") or _recipe_model(folder)
    training = metrics.get("training", {}) if isinstance(metrics.get("training"), dict) else {}
    test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
    return Row(
        recipe=str(recipe),
        model=str(model),
        parameters=training.get("parameters"),
        size_mb=round((folder / "model.keras").stat().st_size / 1e6, 2),  # Raw-input model.
        test={k: float(v) for k, v in test.items() if isinstance(v, int | float)},
        training_seconds=training.get("seconds"),
        hardware=_hardware(folder / "model_card.md"),
        weights=_shown(folder),
    )


def _recipe_model(folder: Path) -> str:
    from zoo.config.yaml_limits import load_file

    try:
        data = load_file(folder / "recipe.yaml")  # Bounded, and refuses duplicate keys.
        return str(data["model"]["name"])
    except (ZooError, KeyError, TypeError):
        return "?"


def collect(paths: Iterable[str | os.PathLike[str]]) -> list[Row]:
    """Rows of each path: a run or preset folder, or a folder holding such folders."""
    rows = []
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            raise ZooError(f"zoo results: {path} is not a folder; give run or preset folders.")
        found = row(path)
        if found is None:
            found_below = [
                r for r in map(row, sorted(p for p in path.iterdir() if p.is_dir())) if r
            ]
            if not found_below:
                raise ZooError(
                    f"{path} is neither a finished run nor a preset, and holds none; give "
                    "run folders (runs/<recipe>-<time>), preset folders, or a folder of them."
                )
            rows.extend(found_below)
        else:
            rows.append(found)
    return rows


def _columns(rows: Sequence[Row]) -> list[str]:
    metrics = sorted({k for r in rows for k in r.test})
    return [*FIXED, *(f"test_{m}" for m in metrics), *TAIL]


def _cells(r: Row, columns: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "recipe": r.recipe,
        "model": r.model,
        "parameters": r.parameters,
        "size_mb": r.size_mb,
        "training_seconds": r.training_seconds,
        "hardware": r.hardware,
        "weights": r.weights,
    }
    for c in columns:
        if c.startswith("test_"):
            values[c] = r.test.get(c[5:])
    return values


def to_csv(rows: Sequence[Row]) -> str:
    columns = _columns(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in _cells(r, columns).items()})
    return out.getvalue()


def _fmt(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "parameters":
        return f"{value:,}"
    if column.startswith("test_"):
        return f"{value:.4f}"
    if column == "weights":
        return f"`{value}`"
    return str(value).replace("|", "\\|")


def to_markdown(rows: Sequence[Row]) -> str:
    columns = _columns(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = _cells(r, columns)
        lines.append("| " + " | ".join(_fmt(c, cells[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, table: str) -> None:
    """Replace the table between the results markers of `readme`."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ZooError(
            f"{readme} has no results markers; put the lines {START!r} and {END!r} where "
            "the table goes."
        )
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table}{END}{tail}", encoding="utf-8")
