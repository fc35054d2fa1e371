"""CSV/TSV files: a text column or numeric feature columns, and a label column.

One file per split (`data.splits` name files below `data.path`), or `data.path` a single
file cut into train/validation/test by fractions with the recipe's seed. Labels that are
not the integers 0..N-1 are mapped to them in sorted order of the training labels; the
names become the run's class names (written to `classes.json` in the run directory).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.data.archive import locate
from zoo.data.bundle import DataBundle, DataInfo
from zoo.data.check import SplitStats, scan_arrays
from zoo.data.pipeline import finish_split
from zoo.errors import DataError, did_you_mean

if TYPE_CHECKING:
    from zoo.config.schema import CsvData

# Each data row with the 1-based line of the file it starts on, for messages.
Rows = list[tuple[int, list[str]]]


def _read(path: Path, config: CsvData, role: str) -> tuple[list[str] | None, Rows]:
    """(header or None, data rows with their line numbers) of one file; every row must
    have as many cells as the header (or the first row), else its line is named."""
    if not path.is_file():
        raise DataError(
            f"data.splits.{role}: {path} is not a file. Name a CSV/TSV file below data.path."
        )
    delimiter = config.delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
    rows: Rows = []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter=delimiter)
            line = 1
            for row in reader:
                if row:
                    rows.append((line, row))
                line = reader.line_num + 1
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"Cannot read {path} as CSV (data.splits.{role}): {exc}") from None
    header = [h.strip() for h in rows.pop(0)[1]] if config.header and rows else None
    width = len(header) if header is not None else len(rows[0][1]) if rows else 0
    for line, row in rows:
        if len(row) != width:
            raise DataError(
                f"{path} line {line} has {len(row)} columns, but "
                + ("the header has" if header is not None else "the first row has")
                + f" {width} (data.splits.{role}). Fix that row (a text cell holding the "
                "delimiter must be quoted), or check data.delimiter."
            )
    return header, rows


def _index(column: str | int, header: list[str] | None, path: Path, field: str) -> int:
    if isinstance(column, int):
        return column
    if header is None:
        raise DataError(
            f"data.{field} is the name {column!r}, but data.header is false; give the "
            "column's 0-based index instead, or set data.header: true."
        )
    if column not in header:
        raise DataError(
            f"data.{field}: {path} has no column {column!r}.{did_you_mean(column, header)} "
            f"Its columns: {', '.join(header)}."
        )
    return header.index(column)


def _columns(rows: Rows, indices: list[int], path: Path, role: str) -> list[list[str]]:
    width = max(indices) + 1
    for line, row in rows:
        if len(row) < width:
            raise DataError(
                f"{path} (data.splits.{role}) line {line} has {len(row)} columns; the "
                f"recipe's columns need at least {width}. Check data.delimiter and the "
                "column names."
            )
    return [[row[i] for i in indices] for _, row in rows]


def _numbers(cells: list[list[str]], rows: Rows, path: Path, role: str, names: list[str]):
    """The feature cells as float32 (N, F); a blank or non-numeric cell names its line."""
    import numpy as np

    out = np.empty((len(cells), len(names)), np.float32)
    for n, row in enumerate(cells):
        for j, value in enumerate(row):
            try:
                out[n, j] = float(value)
            except ValueError:
                what = "is blank" if not value.strip() else f"holds {value[:40]!r}"
                raise DataError(
                    f"{path} (data.splits.{role}) line {rows[n][0]}: the feature column "
                    f"{names[j]!r} {what}, not a number. Fill or drop that row; "
                    "data.feature_columns must name numeric columns."
                ) from None
    return out


def _split_rows(rows: Rows, config: CsvData, seed: int) -> dict[str, Rows]:
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    n_val = round(len(rows) * config.validation_fraction)
    n_test = round(len(rows) * config.test_fraction)
    return {
        "test": rows[:n_test],
        "validation": rows[n_test : n_test + n_val],
        "train": rows[n_test + n_val :],
    }


def _label_mapping(labels: list[str]) -> dict[str, int]:
    """Integers 0..N-1 keep their value; other labels map to 0..N-1 in sorted order
    (numeric order when all are numbers, so 2 comes before 10)."""
    distinct = set(labels)
    try:
        numbers = {v: float(v) for v in distinct}
    except ValueError:
        return {v: i for i, v in enumerate(sorted(distinct))}
    ordered = sorted(distinct, key=lambda v: (numbers[v], v))
    if all(numbers[v] == i for i, v in enumerate(ordered)) and all(
        v.lstrip("-").isdigit() for v in ordered
    ):
        return {v: int(v) for v in ordered}
    return {v: i for i, v in enumerate(ordered)}


def load(config: CsvData, *, batch_size: int, seed: int) -> DataBundle:
    import numpy as np
    import tensorflow as tf

    root = locate(config.path, config.extract_dir)
    split_rows: dict[str, Rows] = {}
    headers: dict[str, tuple[list[str] | None, Path]] = {}
    if root.is_file():
        header, rows = _read(root, config, "train")
        for role, part in _split_rows(rows, config, seed).items():
            if role == "train" or part:
                split_rows[role], headers[role] = part, (header, root)
    else:
        for role in ("train", "validation", "test"):
            name = getattr(config.splits, role)
            if name is not None:
                header, rows = _read(root / name, config, role)
                split_rows[role], headers[role] = rows, (header, root / name)
        if "validation" not in split_rows and config.validation_fraction > 0:
            parts = _split_rows(
                split_rows["train"], config.model_copy(update={"test_fraction": 0}), seed
            )
            split_rows["train"], split_rows["validation"] = parts["train"], parts["validation"]
            headers["validation"] = headers["train"]

    inputs: dict[str, Any] = {}
    labels: dict[str, list[str]] = {}
    lines: dict[str, list[int]] = {}
    for role, rows in split_rows.items():
        header, path = headers[role]
        if not rows:
            raise DataError(f"data.splits.{role}: {path} holds no data rows.")
        label_at = _index(config.label_column, header, path, "label_column")
        if config.text_column is not None:
            at = [_index(config.text_column, header, path, "text_column")]
        else:
            at = [_index(c, header, path, "feature_columns") for c in config.feature_columns]
        cells = _columns(rows, [*at, label_at], path, role)
        labels[role] = [c[-1].strip() for c in cells]
        lines[role] = [line for line, _ in rows]
        if config.check and "" in labels[role]:
            line = rows[labels[role].index("")][0]
            raise DataError(
                f"{path} (data.splits.{role}) line {line}: the label cell (data.label_column "
                f"{config.label_column!r}) is blank; a blank is not a class. Fill in the "
                "label or drop the row."
            )
        if config.text_column is not None:
            inputs[role] = np.array([c[0] for c in cells], dtype=object)
        else:
            names = [str(c) for c in config.feature_columns]
            inputs[role] = _numbers([c[:-1] for c in cells], rows, path, role, names)

    mapping = _label_mapping(labels["train"])
    pipelines: dict[str, tf.data.Dataset | None] = {"validation": None, "test": None}
    sizes: dict[str, int] = {}
    stats: dict[str, SplitStats] = {}
    for role, values in labels.items():
        unknown = sorted(set(values) - set(mapping))
        if unknown:
            raise DataError(
                f"{headers[role][1]} (data.splits.{role}) has labels {unknown[:5]} that the "
                f"training split never uses; known labels: {', '.join(sorted(mapping))}."
            )
        y = np.array([mapping[v] for v in values], np.int64)
        if config.check:  # Complete: NaN/Inf features and label counts, by file line.
            path, at = headers[role][1], lines[role]
            stats[role] = scan_arrays(
                role, inputs[role], y, lambda i, path=path, at=at: f"line {at[i]} of {path}"
            )
        ds = tf.data.Dataset.from_tensor_slices((inputs[role], y))
        sizes[role] = len(y)
        pipelines[role] = finish_split(ds, config, role, batch_size=batch_size, seed=seed)
    class_names = [name for name, _ in sorted(mapping.items(), key=lambda kv: kv[1])]
    text = config.text_column is not None
    info = DataInfo(
        input_name="text" if text else "features",
        input_shape=() if text else (len(config.feature_columns),),
        input_dtype="string" if text else "float32",
        num_classes=len(class_names),
        class_names=tuple(class_names),
        num_examples=sizes,
    )
    return DataBundle(info=info, stats=stats, **pipelines)  # train/validation/test
