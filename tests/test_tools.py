"""Benchmarks are not tests: only check that the tool runs on a tiny setting."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_benchmark_recipe_runs_tiny_and_writes_json(mnist_ready, tmp_path):
    out_json = tmp_path / "bench.json"
    out = subprocess.run(
        [
            sys.executable,
            "tools/benchmark_recipe.py",
            "recipes/mnist_mlp.yaml",
            "--set",
            "data.splits.train=train[:512]",
            "--set",
            "data.splits.validation=null",
            "--set",
            "data.splits.test=test[:256]",
            "--set",
            "training.epochs=1",
            "--json",
            str(out_json),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "test acc" in out.stdout
    (row,) = json.loads(out_json.read_text())["results"]
    assert row["epochs"] == 1 and 0.0 <= row["test_accuracy"] <= 1.0
