"""Real learning: a learning-rate search on a small MNIST slice beats a bad starting rate
clearly, and the median pruner stops hopeless trials before their last epoch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, SMALL_MNIST, run_cli

RECIPE = """\
extends: {base}
name: mnist_lr_search
model: {{name: mlp, params: {{hidden_units: [64], dropout: 0.0}}}}
training:
  batch_size: 128
  epochs: 3
  optimizer: {{name: sgd, learning_rate: 1.0e-4, momentum: 0.0, nesterov: false}}
  metrics: [accuracy]
export: {{keras: false, saved_model: false}}
search:
  parameters:
    training.optimizer.learning_rate: {{loguniform: [1.0e-4, 1.0]}}
  trials: 6
  sampler: tpe
  pruner: median
"""


@pytest.mark.slow
def test_lr_search_beats_a_bad_start_and_prunes(mnist_ready, tmp_path):
    recipe = tmp_path / "search.yaml"
    recipe.write_text(RECIPE.format(base=REPO / "recipes" / "mnist_mlp.yaml"))
    overrides = [a for o in SMALL_MNIST for a in ("--set", o)]
    baseline = run_cli(str(recipe), *overrides, "--output-dir", str(tmp_path / "base"), "-q")
    assert baseline.returncode == 0, baseline.stderr[-3000:]
    start = json.loads((tmp_path / "base" / "metrics.json").read_text())["test"]["accuracy"]

    study = tmp_path / "study"
    result = run_cli("search", str(recipe), *overrides, "--output-dir", str(study), module="zoo")
    assert result.returncode == 0, result.stderr[-3000:]
    best_line = next(line for line in result.stdout.splitlines() if line.startswith("best"))
    best = float(best_line.split("accuracy=")[1].split(";")[0])
    assert best > start + 0.2, (start, best)  # e.g. ~0.3 at lr 1e-4 against ~0.85

    rows = (study / "trials.csv").read_text().splitlines()[1:]
    states = [r.split(",")[-3] for r in rows]
    assert len(rows) == 6
    pruned = [
        Path(study, "trials", f"trial-{int(r.split(',')[0]):04d}") for r in rows if "pruned" in r
    ]
    for folder in pruned:  # a pruned trial stopped early and says so
        status = json.loads((folder / "status.json").read_text())
        assert status["stage"] == "pruned" and not (folder / "metrics.json").exists()
    assert states.count("complete") + states.count("pruned") == 6
