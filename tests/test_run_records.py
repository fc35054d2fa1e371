"""What a run leaves for a reader: every test metric in the card and the terminal summary,
export checks as a table, `model_summary.txt`, a learning-rate column in `history.csv`, a
card that reproduces without this machine's paths (also in a preset), and folders that
follow the umask. One real tiny run on AdrenalMNIST3D (`zoo-data://`, the shared data)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import stat
from pathlib import Path

import pytest

import zoo
from zoo.cli.main import main

pytestmark = pytest.mark.slow  # One training with an ONNX export, checked in a fresh process.

RECIPE = """\
name: adrenal_tiny
description: A tiny MLP on AdrenalMNIST3D.
seed: 3
model: {name: mlp, params: {hidden_units: [8]}}
data:
  source: npz
  path: zoo-data://medmnist/adrenalmnist3d.npz
  splits: {train: train, validation: val, test: test}
  class_names: [normal, hyperplasia]
training:
  batch_size: 64
  epochs: 3
  optimizer:
    name: adam
    learning_rate: {schedule: cosine_decay, initial_learning_rate: 0.01}
  metrics: [accuracy]
export: {keras: true, saved_model: false, onnx: true}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(run folder, preset folder, what `zoo train` printed), made under umask 002."""
    folder = tmp_path_factory.mktemp("records")
    (folder / "adrenal_tiny.yaml").write_text(RECIPE)
    old = os.umask(0o002)
    try:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(
                [
                    "train",
                    str(folder / "adrenal_tiny.yaml"),
                    "-q",
                    "--output-dir",
                    str(folder / "run"),
                ]
            )
        assert code == 0, out.getvalue()
        zoo.publish(folder / "run", str(folder / "preset"))
    finally:
        os.umask(old)
    return folder / "run", folder / "preset", out.getvalue()


def test_every_test_metric_in_the_card_and_the_terminal(run):
    run_dir, _, printed = run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    macro = metrics["report"]["test"]["macro"]
    line = next(x for x in printed.splitlines() if x.startswith("zoo: test: "))
    card = (run_dir / "model_card.md").read_text()
    header = next(x for x in card.splitlines() if x.startswith("| split |"))
    test_row = next(x for x in card.splitlines() if x.startswith("| test |"))
    for name in ("accuracy", "loss", "precision", "recall", "f1", "auc"):
        value = metrics["test"].get(name, macro.get(name))
        assert f"{name}={value:.4f}" in line, line
        assert f" {name} " in header
    cells = dict(zip(header.strip("|").split("|"), test_row.strip("|").split("|"), strict=True))
    assert float(cells[" auc "]) == pytest.approx(macro["auc"], abs=1e-4)


def test_export_checks_are_a_table_not_dicts(run):
    card = (run[0] / "model_card.md").read_text()
    assert "{'" not in card and "## Export checks" in card
    onnx = next(x for x in card.splitlines() if x.startswith("| onnx |"))
    assert "`onnx`" in onnx and "max abs difference" in onnx and "| passed |" in onnx
    assert float(onnx.rstrip(" |").rsplit("|", 1)[-1]) > 0  # Its batch-1 latency (ms).
    assert re.search(r"\| keras \| `model.keras` \| \d+\.\d\d MB \|", card)


def test_model_summary_and_learning_rate_column(run):
    run_dir = run[0]
    summary = (run_dir / "model_summary.txt").read_text()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert f"Total params: {metrics['training']['parameters']:,}" in summary
    assert (
        "Dense" in summary and "Param #" in summary and "\x1b[" not in summary
    )  # Plain text, no colour codes.
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    rates = [float(r["learning_rate"]) for r in rows]
    # Cosine decay from 0.01 over 3 epochs, read at each epoch's end: 0.01·(1+cos(πt/3))/2.
    assert rates == pytest.approx([0.0075, 0.0025, 0.0], abs=1e-6)
    assert "model_summary.txt" in json.loads((run_dir / ".zoo-run.json").read_text())["entries"]


def test_cards_reproduce_without_this_machines_paths(run):
    run_dir, preset, _ = run
    for card in (run_dir / "model_card.md", preset / "model_card.md"):
        text = card.read_text()
        section = text.split("## Reproduce", 1)[1].split("## Resolved recipe")[0]
        assert "zoo train recipe.yaml --output-dir adrenal_tiny-again" in section
        assert "zoo prepare --recipes ." in section
        assert str(run_dir.parent) not in text and "ZOO_TFDS_MANUAL_DIR=" not in text
        assert "path: zoo-data://medmnist/adrenalmnist3d.npz" in text
    assert "zoo-data://medmnist/adrenalmnist3d.npz" in (preset / "recipe.yaml").read_text()


def test_folders_follow_the_umask(run):
    run_dir, preset, _ = run
    for folder in (preset, run_dir / "onnx", run_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o775, folder
    for file in (preset / "model.keras", run_dir / "onnx" / "model.onnx"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o664, file


def test_temp_dir_gives_an_ordinary_mode(tmp_path):
    from zoo.fs import temp_dir

    old = os.umask(0o027)
    try:
        made = temp_dir(".x.tmp-", Path(tmp_path))
    finally:
        os.umask(old)
    assert stat.S_IMODE(made.stat().st_mode) == 0o750
