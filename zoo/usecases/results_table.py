"""The results table: which columns, `--where` / `--sort`, CSV and Markdown.

Why the changed-field columns: seven rows of `mnist_cnn` told apart only by their paths say
nothing. The recipe fields whose values differ between rows of the same recipe (a `--set`,
a search trial's parameters) are what tells them apart, so those, and only those, become
columns. Rows of different recipes are not compared field by field, so a table of presets
does not spread into columns of their different sections.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.usecases.results import Row

LEAD = ("recipe", "model", "status", "date", "epochs")
SIZE = ("parameters", "size_mb")  # After the changed fields, before the scores.
TAIL = (
    "training_seconds",
    "train_examples_per_s",  # Training examples/s over fit, first epoch left out.
    "batch1_latency_ms",  # Median batch-1 latency of the fastest verified export...
    "batch1_format",  # ...and which format that is.
    "hardware",
    "weights",
)
OTHER = ("kind", "note")
FIXED = (*LEAD, *SIZE, *TAIL, *OTHER)
START, END = "<!-- zoo results: start -->", "<!-- zoo results: end -->"


def value(row: Row, name: str) -> Any:
    """The value of column or recipe field `name` in `row` (None when it has none)."""
    if name in FIXED:
        return getattr(row, name)
    if name.startswith("test_") and name[5:] in row.test:
        return row.test[name[5:]]
    if name.startswith("val_") and name[4:] in row.validation:
        return row.validation[name[4:]]
    return row.fields.get(name)


def known(rows: Sequence[Row]) -> set[str]:
    names = set(FIXED)
    for r in rows:
        names.update(f"test_{m}" for m in r.test)
        names.update(f"val_{m}" for m in r.validation)
        names.update(r.fields)
    return names


def _check_field(name: str, rows: Sequence[Row], option: str) -> None:
    names = known(rows)
    if name not in names:
        close = difflib.get_close_matches(name, sorted(names), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ZooError(
            f"{option} {name}: no column or recipe field of that name in the rows found.{hint} "
            f"Columns: {', '.join(FIXED)}, test_<metric>, val_<metric> "
            "(search trials), or a recipe field such as training.epochs."
        )


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list | dict | bool):
        return json.dumps(v)
    return str(v)


def _equal(v: Any, wanted: str) -> bool:
    if _text(v) == wanted:
        return True
    try:
        return v is not None and not isinstance(v, bool) and float(v) == float(wanted)
    except (TypeError, ValueError):
        return False


def where(rows: Sequence[Row], conditions: Sequence[str]) -> list[Row]:
    """Rows meeting every `FIELD=VALUE` (or `FIELD!=VALUE`) condition."""
    kept = list(rows)
    for condition in conditions:
        negate = "!=" in condition
        name, sep, wanted = condition.partition("!=" if negate else "=")
        name = name.strip()
        if not sep or not name:
            raise ZooError(
                f"--where {condition!r}: write FIELD=VALUE or FIELD!=VALUE, e.g. "
                "--where status=failed or --where training.epochs=3."
            )
        _check_field(name, rows, "--where")
        kept = [r for r in kept if _equal(value(r, name), wanted.strip()) != negate]
    return kept


def sort(rows: Sequence[Row], by: str | None) -> list[Row]:
    """Rows ordered by `by` (`-by` for descending); rows without a value go last."""
    if not by:
        return list(rows)
    descending = by.startswith("-")
    name = by.lstrip("-")
    _check_field(name, rows, "--sort")
    present = [r for r in rows if value(r, name) is not None]
    missing = [r for r in rows if value(r, name) is None]

    def key(r: Row) -> tuple[int, float, str]:
        v = value(r, name)
        if isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v):
            return (0, float(v), "")
        return (1, 0.0, _text(v))

    return sorted(present, key=key, reverse=descending) + missing


def changed_fields(rows: Sequence[Row]) -> list[str]:
    """Recipe fields whose values differ between rows of the same recipe (its `--set`
    runs, search trials, presets): those are what the recipe column cannot tell apart.
    Rows of different recipes differ in whole sections, which the recipe column already
    names, so they are not compared with each other."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        if r.fields:
            groups.setdefault(r.recipe, []).append(r.fields)
    out: set[str] = set()
    for same in groups.values():
        if len(same) < 2:
            continue
        common = set(same[0]).intersection(*same[1:]) - {"name", "description"}
        out.update(f for f in common if len({json.dumps(r[f], sort_keys=True) for r in same}) > 1)
    return sorted(out)


def columns(rows: Sequence[Row]) -> list[str]:
    tests = [f"test_{m}" for m in sorted({k for r in rows for k in r.test})]
    vals = [f"val_{m}" for m in sorted({k for r in rows for k in r.validation})]
    note = ["note"] if any(r.note for r in rows) else []
    return [*LEAD, *changed_fields(rows), *SIZE, *tests, *vals, *TAIL, *note]


def to_csv(rows: Sequence[Row]) -> str:
    cols = columns(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(cols)
    for r in rows:
        writer.writerow([_text(value(r, c)) for c in cols])
    return out.getvalue()


def _fmt(column: str, v: Any) -> str:
    if v is None:
        return ""
    if column == "parameters":
        return f"{v:,}"
    if column.startswith(("test_", "val_")) and isinstance(v, float):
        return f"{v:.4f}"
    if column == "train_examples_per_s" and isinstance(v, int | float):
        return f"{v:,.0f}"
    if column == "batch1_latency_ms" and isinstance(v, int | float):
        return f"{v:.3g}"
    if column == "weights":
        return f"`{v}`"
    return _text(v).replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: Sequence[Row]) -> str:
    cols = columns(rows)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(c, value(r, c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, table: str) -> None:
    """Replace the table between the results markers of `readme`."""
    from zoo.fs import atomic_write_text

    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ZooError(
            f"{readme} has no results markers; put the lines {START!r} and {END!r} where "
            "the table goes."
        )
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(readme, f"{head}{START}\n{table}{END}{tail}")
