"""The speed figures without training: how the throughput record is summed, how the
batch-1 latency is timed, which export `zoo results` calls the fastest, and that runs and
presets from before these figures show empty cells, not an error. Hand-made records only
(the real run's figures are tested in tests/test_presets.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from zoo.exporting import verify
from zoo.training import throughput
from zoo.usecases import results_table
from zoo.usecases.results import collect


def test_throughput_leaves_the_first_epoch_out_when_there_are_others():
    record = throughput.summary([5.0, 1.0, 3.0], 200)
    assert record == {
        "examples_per_second": 100.0,  # 2 epochs × 200 examples in 4 s.
        "epochs_timed": 2,
        "first_epoch_excluded": True,
        "examples_per_epoch": 200,
        "seconds_timed": 4.0,
    }
    single = throughput.summary([2.0], 200)
    assert single["examples_per_second"] == 100.0 and single["first_epoch_excluded"] is False
    assert throughput.summary([], 200) is None
    assert throughput.summary([1.0], -1) is None  # Unknown split size (mock TFDS data).


def test_examples_per_epoch_is_the_split_or_the_fixed_steps():
    assert throughput.examples_per_epoch(1000, 64, None) == 1000
    assert throughput.examples_per_epoch(1000, 64, 3) == 192


def test_batch1_latency_is_the_median_of_timed_calls_after_warm_up(monkeypatch):
    calls = []

    def predict(x):
        calls.append(len(x))
        return x

    record = verify.batch1_latency(predict, [[1, 2]])
    assert record["batch1_calls"] == verify.LATENCY_CALLS
    assert len(calls) == verify.LATENCY_WARMUP + verify.LATENCY_CALLS
    assert set(calls) == {1} and record["batch1_latency_ms"] >= 0
    monkeypatch.setattr(verify, "LATENCY_BUDGET_S", 0.0)  # A slow model: stop early...
    assert verify.batch1_latency(predict, [[1]])["batch1_calls"] == verify.LATENCY_MIN_CALLS


def _run(folder: Path, metrics: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / ".zoo-run.json").write_text(json.dumps({"kind": "run", "entries": []}))
    (folder / "status.json").write_text(json.dumps({"stage": "finished"}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "recipe.yaml").write_text(f"name: {folder.name}\nmodel: {{name: mlp}}\n")
    return folder


def _preset(folder: Path, metrics: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"recipe": folder.name, "files": {}}))
    (folder / "config.json").write_text(json.dumps({"builder": "mlp", "params": {}}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def _check(ok: bool, ms: float | None) -> dict:
    record = {"ok": ok, "max_abs_difference": 0.0, "tolerance": 1e-5}
    return record if ms is None else record | {"batch1_latency_ms": ms}


def _rows(tmp_path: Path) -> dict[str, dict[str, str]]:
    rows = collect([tmp_path])
    table = list(csv.DictReader(io.StringIO(results_table.to_csv(rows))))
    results_table.to_markdown(rows)  # Renders with the empty cells too.
    return {r["recipe"]: r for r in table}


def test_fastest_verified_format_and_empty_cells_for_older_records(tmp_path):
    training = {"seconds": 9.5, "parameters": 10, "epochs": 3, "examples_per_second": 1234.4}
    new = {
        "test": {"accuracy": 0.9},
        "training": training,
        "export": {
            "keras": _check(True, 3.0),
            "onnx": _check(True, 0.5),
            "litert_int8": _check(False, 0.1),  # Fastest, but its check failed.
            "saved_model": _check(True, None),  # Not timed (an older check).
        },
    }
    old = {
        "test": {"accuracy": 0.8},
        "training": {"seconds": 4.0},
        "export": {"keras": {"ok": True}},
    }
    _run(tmp_path / "runs" / "new", new)
    _run(tmp_path / "runs" / "old", old)
    _preset(tmp_path / "presets" / "new_preset", new)
    _preset(tmp_path / "presets" / "old_preset", {"test": {"accuracy": 0.8}})
    rows = _rows(tmp_path)
    for name in ("new", "new_preset"):
        r = rows[name]
        assert (r["train_examples_per_s"], r["batch1_latency_ms"], r["batch1_format"]) == (
            "1234.4",
            "0.5",
            "onnx",
        )
    for name in ("old", "old_preset"):
        r = rows[name]
        assert r["status"] in ("finished", "preset"), r
        assert (r["train_examples_per_s"], r["batch1_latency_ms"], r["batch1_format"]) == (
            "",
            "",
            "",
        )
    shown = results_table.to_markdown(collect([tmp_path / "runs"]))
    assert "| 1,234 | 0.5 | onnx |" in shown


@pytest.mark.parametrize(
    ("metrics", "reason"),
    [
        ({"training": {"examples_per_second": "fast"}}, "training.examples_per_second"),
        ({"export": {"keras": {"ok": True, "batch1_latency_ms": "1 ms"}}}, "batch1_latency_ms"),
        ({"export": {"keras": []}}, "export.keras"),
    ],
)
def test_a_speed_field_of_the_wrong_type_is_an_unreadable_row(tmp_path, metrics, reason):
    _run(tmp_path / "broken", {"test": {"accuracy": 0.5}, **metrics})
    (row,) = collect([tmp_path])
    assert row.status == "unreadable" and reason in row.note


def test_changed_field_columns_compare_rows_of_the_same_recipe_only():
    """Two presets of different recipes differ in whole sections, which the recipe column
    names already; two runs of one recipe are told apart by the fields that differ."""
    from zoo.usecases.results import Row
    from zoo.usecases.results_table import columns

    def row(recipe, **fields):
        return Row(recipe=recipe, model="m", parameters=1, size_mb=0.1, fields=fields)

    presets = [row("a", **{"data.name": "x", "training.epochs": 3}), row("b", **{"data.name": "y"})]
    assert not {"data.name", "training.epochs"} & set(columns(presets))
    runs = [*presets, row("a", **{"data.name": "x", "training.epochs": 5})]
    cols = columns(runs)
    assert "training.epochs" in cols and "data.name" not in cols
