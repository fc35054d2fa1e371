"""What zoo prints: the same zoo lines from the API and the CLI, each once; one line per
epoch off a terminal; no TensorFlow start-up block; everything kept in train.log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

RECIPE = """\
name: tiny
seed: 1
model: {{name: mlp, params: {{hidden_units: [8]}}}}
data:
  source: npz
  path: {path}
  splits: {{train: train, validation: val, test: test}}
training: {{batch_size: 8, epochs: 2, loss: sparse_categorical_crossentropy, metrics: [accuracy]}}
evaluation: {{splits: [test]}}
export: {{keras: true, saved_model: true}}
"""


def _recipe(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 48), ("val", 16), ("test", 16)):
        arrays[f"{split}_images"] = rng.random((n, 3, 4)).astype(np.float32)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).astype(np.int64)
    np.savez(tmp_path / "d.npz", **arrays)
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE.format(path=tmp_path / "d.npz"))
    return path


def _run(code: str, log: Path) -> str:
    """Run `code` with stdout and stderr going to one file, as `cmd > log 2>&1` would."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # A user's.
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=out, stderr=out, timeout=900, env=env
        )
    text = log.read_text()
    assert done.returncode == 0, text[-3000:]
    return text


def _shape(line: str) -> str:
    """A zoo line with its numbers and paths blanked, to compare two runs' lines."""
    # Thousands separators too: one run's 998 examples/s is another's 1,004.
    return re.sub(r"/\S+", "PATH", re.sub(r"\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?", "N", line))


@pytest.mark.slow  # two tiny trainings in fresh processes
def test_api_and_cli_print_the_same_lines_once_and_keep_them_in_train_log(tmp_path):
    recipe = _recipe(tmp_path)
    api = _run(
        f"import zoo; zoo.train({str(recipe)!r}, output_dir={str(tmp_path / 'a')!r})",
        tmp_path / "api.log",
    )
    cli = _run(
        "import sys; from zoo.cli.main import main; "
        f"sys.exit(main(['train', {str(recipe)!r}, '--output-dir', {str(tmp_path / 'c')!r}]))",
        tmp_path / "cli.log",
    )
    for text in (api, cli):
        lines = text.splitlines()
        assert not [x for x in lines if re.match(r"^[IWE]\d{4} ", x)], text[:2000]
        assert "absl::InitializeLog" not in text and "cuInit" not in text
        assert "\r" not in text and "\x08" not in text  # No redrawn progress bar.
        assert len([x for x in lines if x.startswith("Epoch ")]) == 2  # One line each.
        zoo_lines = [x for x in lines if x.startswith("zoo: ")]
        assert len(zoo_lines) == len(set(zoo_lines)), "a zoo line is printed twice"
        assert any(x.startswith("zoo: test: ") for x in zoo_lines)
        assert any(x.startswith("zoo: run directory: ") for x in zoo_lines)
    shapes = [[_shape(x) for x in t.splitlines() if x.startswith("zoo: ")] for t in (api, cli)]
    assert shapes[0] == shapes[1]
    kept = (tmp_path / "c" / "train.log").read_text()
    assert "zoo: data check: train" in kept and "Epoch 2/2" in kept
    assert "zoo: test: " in kept


def test_a_stream_kept_after_the_run_still_writes_without_the_transcript(tmp_path, capsys):
    """A library that bound its log handler to sys.stderr during a run (TensorFlow's
    logger does) keeps the tee; after the run it must write through, not fail."""
    from zoo.runs.transcript import Transcript

    with Transcript() as transcript:
        kept = sys.stderr
        print("before the folder", file=sys.stderr)
        transcript.attach(tmp_path / "train.log")
        print("during the run", file=sys.stderr)
    kept.write("after the run\n")
    assert (tmp_path / "train.log").read_text() == "before the folder\nduring the run\n"
    assert "after the run" in capsys.readouterr().err
