"""A tiny real search end to end (synthetic npz data, seconds): trials are ordinary run
folders, an interrupted trial (its process dead) is marked failed and retried with the same
parameters, the total is `trials` with none run twice, and the results (table, best.yaml)
are written; a rerun of the finished study runs nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import run_cli

RECIPE = """\
name: tiny
seed: 1
model: {{name: mlp, params: {{hidden_units: [8]}}}}
data:
  source: npz
  path: {path}
  splits: {{train: train, validation: val, test: test}}
training: {{batch_size: 16, epochs: 2, metrics: [accuracy]}}
evaluation: {{splits: [test]}}
export: {{keras: false, saved_model: false}}
search:
  parameters:
    training.optimizer.learning_rate: {{loguniform: [1.0e-3, 1.0e-1]}}
    model.params.hidden_units: {{choice: [[4], [8, 4]]}}
  trials: 3
  sampler: random
  pruner: null
"""


def _data(path: Path) -> None:
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", 64), ("val", 32), ("test", 32)):
        labels = np.arange(n) % 2
        out[f"{split}_images"] = (rng.random((n, 3, 4)) + labels[:, None, None]).astype("float32")
        out[f"{split}_labels"] = labels.astype("int64")
    np.savez(path, **out)


def _plant_interrupted_trial(recipe_path: Path, study_dir: Path) -> dict:
    """A RUNNING trial whose process is gone, as a killed `zoo search` leaves it."""
    from zoo.config.loading import load_recipe
    from zoo.tuning import runner, study

    recipe = load_recipe(recipe_path)
    study.claim_folder(study_dir)  # As `zoo search` makes its folder.
    storage = study.open_storage(study.default_storage(study_dir))
    the_study = study.load(recipe.search, "tiny-search", storage, recipe.seed)
    trial = the_study.ask()
    for path, dist in recipe.search.parameters.items():
        runner._suggest(trial, path, dist)
    gone = subprocess.Popen(["true"])
    gone.wait()
    trial.set_user_attr("host", study.HOST)
    trial.set_user_attr("pid", gone.pid)
    return dict(trial.params)


@pytest.mark.slow  # three trainings and two CLI processes: about a minute on 2 shared cores
def test_tiny_search_resumes_retries_and_writes_results(tmp_path):
    _data(tmp_path / "d.npz")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE.format(path=tmp_path / "d.npz"))
    study_dir = tmp_path / "study"
    planted = _plant_interrupted_trial(recipe, study_dir)

    result = run_cli("search", str(recipe), "--output-dir", str(study_dir), module="zoo")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trials [0] were interrupted" in result.stdout

    import optuna

    from zoo.tuning import study

    the_study = optuna.load_study(
        study_name="tiny-search", storage=study.default_storage(study_dir)
    )
    trials = the_study.get_trials()
    states = [t.state.name for t in trials]
    assert states.count("COMPLETE") == 3, states
    assert trials[0].state.name == "FAIL" and trials[0].user_attrs["interrupted"]
    retries = [t for t in trials if t.user_attrs.get("retry_of") == 0]
    assert len(retries) == 1 and retries[0].params == planted
    keys = [json.dumps(t.params, sort_keys=True) for t in trials if t.state.name == "COMPLETE"]
    assert len(keys) == len(set(keys))  # none run twice
    for t in trials[1:]:
        run = Path(t.user_attrs["run_dir"])
        assert run.parent == study_dir / "trials"
        assert json.loads((run / "status.json").read_text())["stage"] == "finished"
        assert (
            yaml.safe_load((run / "recipe.yaml").read_text())["training"]["optimizer"][
                "learning_rate"
            ]
            == t.params["training.optimizer.learning_rate"]
        )

    table = (study_dir / "trials.csv").read_text().splitlines()
    assert len(table) == 1 + len(trials) and table[0].startswith("number,")
    assert "| number |" in (study_dir / "trials.md").read_text()
    assert (study_dir / "history.png").stat().st_size > 0
    best = yaml.safe_load((study_dir / "best.yaml").read_text())
    assert "search" not in best
    top = the_study.best_trial
    assert (
        best["training"]["optimizer"]["learning_rate"]
        == top.params["training.optimizer.learning_rate"]
    )
    from zoo.config.loading import load_recipe

    assert load_recipe(study_dir / "best.yaml").search is None

    again = run_cli("search", str(recipe), "--output-dir", str(study_dir), module="zoo")
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(the_study.get_trials()) == len(trials)  # finished study: nothing new


def test_fast_tiny_search_in_process(tmp_path, capsys):
    """One one-epoch trial in this process: run folder, table and a loadable best.yaml."""
    from zoo.cli.search import main
    from zoo.config.loading import load_recipe

    _data(tmp_path / "d.npz")
    recipe = tmp_path / "tiny.yaml"
    body = RECIPE.replace("epochs: 2", "epochs: 1").replace("trials: 3", "trials: 1")
    recipe.write_text(body.format(path=tmp_path / "d.npz"))
    study_dir = tmp_path / "study"
    assert main([str(recipe), "--output-dir", str(study_dir)]) == 0
    assert "trials: 1 complete" in capsys.readouterr().out
    runs = sorted((study_dir / "trials").iterdir())
    assert [r.name for r in runs] == ["trial-0000"]
    for run in runs:
        assert json.loads((run / "status.json").read_text())["stage"] == "finished"
    assert len((study_dir / "trials.csv").read_text().splitlines()) == 2
    best = load_recipe(study_dir / "best.yaml")
    assert best.search is None and "validation" in best.evaluation.splits


@pytest.mark.slow  # two tiny trainings and one export checked in a fresh process
def test_trials_skip_export_and_the_best_trial_is_exported_and_verified(tmp_path):
    import zoo

    _data(tmp_path / "d.npz")
    recipe = tmp_path / "tiny.yaml"
    body = RECIPE.replace("epochs: 2", "epochs: 1").replace("trials: 3", "trials: 2")
    body = body.replace("export: {{keras: false, saved_model: false}}", "export: {{}}")
    recipe.write_text(body.format(path=tmp_path / "d.npz"))
    outcome = zoo.search(recipe, output_dir=tmp_path / "study")
    best = Path(outcome.best["run_dir"])
    assert set(outcome.exports) == {"keras", "saved_model"}
    assert all(c["ok"] and c["fresh_process"] for c in outcome.exports.values())
    assert (best / "saved_model").is_dir()
    for run in (tmp_path / "study" / "trials").iterdir():
        metrics = json.loads((run / "metrics.json").read_text())
        assert "export" not in metrics  # No trial paid for the export check.
        assert "test" not in metrics and "validation" in metrics  # Only the objective.
        assert (run / "model.keras").is_file()
        if run != best:
            assert not (run / "saved_model").exists()


# ----------------------------------------------------------- searches that cannot end half-done
def _tiny(tmp_path: Path, **replace: str) -> Path:
    _data(tmp_path / "d.npz")
    body = RECIPE.replace("epochs: 2", "epochs: 1")
    for old, new in replace.items():
        body = body.replace(old, new)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(body.format(path=tmp_path / "d.npz"))
    return recipe


def _refused(result, *words: str) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    starts = [i for i, x in enumerate(lines) if x.startswith("error: ")]
    assert len(starts) == 1, result.stderr[-3000:]
    error = "\n".join(lines[starts[0] :])  # One paragraph, to the end.
    for word in words:
        assert word in error, error
    return error


@pytest.mark.slow  # two tiny trainings in one CLI process
def test_grid_search_ends_cleanly_when_its_points_run_out(tmp_path):
    recipe = _tiny(
        tmp_path,
        **{
            "training.optimizer.learning_rate: {{loguniform: [1.0e-3, 1.0e-1]}}\n": "",
            "{{choice: [[4], [8, 4]]}}": "{{choice: [[4], [8]]}}",
            "trials: 3": "trials: 5",
            "sampler: random": "sampler: grid",
        },
    )
    study = tmp_path / "study"
    done = run_cli(str(recipe), "--output-dir", str(study), module="zoo.cli.search")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trials: 2 complete" in done.stdout  # The grid's two points, not five trials.
    assert (study / "trials.md").is_file() and (study / "best.yaml").is_file()


def test_objective_that_no_trial_scores_is_refused_at_load_time(tmp_path):
    recipe = _tiny(tmp_path, **{"pruner: null": "pruner: null\n  objective: {{metric: auc}}"})
    refused = run_cli(str(recipe), "--output-dir", str(tmp_path / "s"), module="zoo.cli.search")
    _refused(refused, "search.objective.metric", "'auc' is not scored")
    assert not (tmp_path / "s").exists()


def test_output_dir_that_is_a_file_is_refused(tmp_path):
    recipe = _tiny(tmp_path)
    (tmp_path / "taken").write_text("mine")
    done = run_cli(str(recipe), "--output-dir", str(tmp_path / "taken"), module="zoo.cli.search")
    _refused(done, "is a file")
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.slow  # a failing trial, then a refused rerun, in CLI processes
def test_every_trial_failing_exits_2_and_a_changed_space_is_refused(tmp_path):
    # A choice that makes each trial's recipe fail only at run time: its data file is
    # there (so the recipe loads) but is no NumPy archive.
    (tmp_path / "bad.npz").write_bytes(b"not an npz archive")
    recipe = _tiny(
        tmp_path,
        **{
            "training.optimizer.learning_rate: {{loguniform: [1.0e-3, 1.0e-1]}}": (
                f"data.path: {{{{choice: [{tmp_path / 'bad.npz'}]}}}}"
            ),
            "    model.params.hidden_units: {{choice: [[4], [8, 4]]}}\n": "",
            "trials: 3": "trials: 1",
        },
    )
    study = tmp_path / "study"
    failed = run_cli(str(recipe), "--output-dir", str(study), module="zoo.cli.search")
    _refused(failed, "Every trial of the search failed", "bad.npz")
    assert not (study / "best.yaml").exists()
    # The same study folder with another space: refused before any trial, naming it.
    changed = recipe.read_text().replace("bad.npz]", f"bad.npz, {tmp_path / 'd.npz'}]")
    recipe.write_text(changed)
    again = run_cli(str(recipe), "--output-dir", str(study), module="zoo.cli.search")
    _refused(again, "another search: section", "data.path")


def test_a_study_never_overwrites_files_it_did_not_write(tmp_path):
    recipe = _tiny(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "best.yaml").write_text("my own notes\n")
    (folder / "trials.md").write_text("# my table\n")
    done = run_cli(str(recipe), "--output-dir", str(folder), module="zoo.cli.search")
    _refused(done, "zoo did not write", "best.yaml")
    assert (folder / "best.yaml").read_text() == "my own notes\n"
    assert sorted(p.name for p in folder.iterdir()) == ["best.yaml", "trials.md"]
