"""What a search says about its trials: parameters when each starts, one readable line
when each ends (state, objective to 4 digits, the epoch a pruned trial stopped at), and
descriptions that name the search and the trial's values instead of the searched
recipe's stale one."""

from __future__ import annotations

import json
import re

import numpy as np
import optuna
import pytest
import yaml

from tests.conftest import run_cli
from tests.test_search_run import _data

RECIPE = """\
name: tiny
description: MLP 256-128
seed: 1
model: {{name: mlp, params: {{hidden_units: [8]}}}}
data:
  source: npz
  path: {path}
  splits: {{train: train, validation: val, test: test}}
training: {{batch_size: 32, epochs: 1, metrics: [accuracy]}}
evaluation: {{splits: [test]}}
export: {{keras: false, saved_model: false}}
search:
  parameters:
    training.optimizer.learning_rate: {{loguniform: [1.0e-3, 1.0e-1]}}
    model.params.hidden_units: {{choice: [[4], [6, 4]]}}
  trials: 2
  sampler: random
  pruner: null
"""


@pytest.mark.slow  # two trainings in a CLI process: about 30 s on 2 shared cores
def test_search_prints_each_trial_and_describes_best_yaml(tmp_path):
    _data(tmp_path / "d.npz")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE.format(path=tmp_path / "d.npz"))
    study_dir = tmp_path / "study"
    result = run_cli("search", str(recipe), "--output-dir", str(study_dir), module="zoo")
    assert result.returncode == 0, result.stderr[-3000:]
    err = result.stderr

    trials = optuna.load_study(
        study_name="tiny-search", storage=f"sqlite:///{study_dir / 'study.db'}"
    ).get_trials()
    assert len(trials) == 2
    for t in trials:
        lr = t.params["training.optimizer.learning_rate"]
        units = json.loads(t.params["model.params.hidden_units"])  # Lists stored as JSON.
        shown = f"training.optimizer.learning_rate={lr:.4g}, model.params.hidden_units={units}"
        assert f"zoo: trial {t.number} started: {shown}\n" in err
        line = re.search(rf"zoo: trial {t.number}: complete, validation accuracy (\S+) ", err)
        assert line, err[-3000:]
        assert line.group(1) == f"{t.value:.4f}" and len(line.group(1)) == 6
        recipe_yaml = yaml.safe_load(
            (study_dir / "trials" / f"trial-{t.number:04d}" / "recipe.yaml").read_text()
        )
        assert recipe_yaml["description"] == f"trial {t.number} of search tiny-search: {shown}"
    assert "pruned None" not in err and "complete 0." not in err

    best = yaml.safe_load((study_dir / "best.yaml").read_text())
    assert "MLP 256-128" not in best["description"]
    top = max(trials, key=lambda t: (t.value, -t.number))
    assert best["description"].startswith(f"best trial {top.number} of search tiny-search: ")
    assert best["model"]["params"]["hidden_units"] == json.loads(
        top.params["model.params.hidden_units"]
    )
    assert f"best trial {top.number}: accuracy={top.value:.4f}; " in result.stdout


def test_a_pruned_trial_says_the_epoch_and_score_it_stopped_at(tmp_path):
    # A real Optuna study whose pruner stops every trial (any score below 2 is pruned),
    # and zoo's own pruning callback on one epoch's logs.
    from zoo.config.search_space import Search
    from zoo.runs.status import RunStopped
    from zoo.tuning import runner

    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0)
    )
    trial = study.ask()
    callback = runner.pruning_callback(trial, "val_accuracy")
    with pytest.raises(RunStopped):
        callback.on_epoch_end(2, {"val_accuracy": np.float32(0.53125)})
    search = Search.model_validate(
        {"parameters": {"training.epochs": {"int": [1, 3]}}, "pruner": "median"}
    )
    line = runner._outcome(search, trial, "pruned", None, 1.25)
    assert line == "trial 0: pruned after epoch 3, val_accuracy 0.5312 (1.2 s)"
    failed = runner._outcome(search, trial, "fail", None, 0.5)
    assert failed.startswith("trial 0: failed (0.5 s): ")
