"""`tracking: {mlflow: ...}` against a real local MLflow store, read back with MLflow's
own client: a tiny run (params, per-epoch metrics, test metrics, tags, artifacts) and a
3-trial search (one parent run, each trial nested under it)."""

from __future__ import annotations

import re

import pytest
import yaml

import zoo
from tests.test_search_run import _data

RECIPE = {
    "name": "tiny",
    "description": "a tiny tracked run",
    "seed": 1,
    "model": {"name": "mlp", "params": {"hidden_units": [8]}},
    "data": {
        "source": "npz",
        "path": "d.npz",
        "splits": {"train": "train", "validation": "val", "test": "test"},
    },
    "training": {"batch_size": 16, "epochs": 2, "metrics": ["accuracy"]},
    "evaluation": {"splits": ["test"]},
    "export": {"keras": True, "saved_model": False},
    "tracking": {"mlflow": {"experiment": "tiny-exp"}},
}


def _recipe(tmp_path, **extra):
    _data(tmp_path / "d.npz")
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**RECIPE, **extra}))
    return path


def _client(db):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{db}")


def _artifacts(client, run_id, path=None):
    return {a.path for a in client.list_artifacts(run_id, path)}


@pytest.mark.slow  # a 2-epoch run plus MLflow creating its SQLite store: ~30 s on 2 cores
def test_a_tracked_run_is_in_the_local_mlflow_store(tmp_path):
    result = zoo.train(_recipe(tmp_path), output_dir=tmp_path / "runs" / "one", verbose=0)
    client = _client(tmp_path / "runs" / "mlflow.db")  # The default: beside the run folder.
    experiment = client.get_experiment_by_name("tiny-exp")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "one"
    params = run.data.params
    assert params["model.name"] == "mlp" and params["model.params.hidden_units"] == "[8]"
    assert params["training.epochs"] == "2" and params["tracking.mlflow.experiment"] == "tiny-exp"
    tags = run.data.tags
    assert tags["zoo.recipe"] == "tiny" and tags["zoo.model"] == "mlp"
    assert tags["zoo.run_dir"] == str((tmp_path / "runs" / "one").resolve())
    history = client.get_metric_history(run.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [0, 1]
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 2
    assert run.data.metrics["test_accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    files = _artifacts(client, run.info.run_id)
    assert {"model_card.md", "metrics.json", "recipe.yaml", "model.keras", "plots"} <= files
    assert "plots/training_curves.png" in _artifacts(client, run.info.run_id, "plots")


@pytest.mark.slow  # three trainings in one search: ~40 s on 2 shared cores
def test_a_tracked_search_nests_each_trial_under_one_parent(tmp_path):
    search = {
        "parameters": {"training.optimizer.learning_rate": {"loguniform": [1e-3, 1e-1]}},
        "trials": 3,
        "sampler": "random",
        "pruner": None,
    }
    outcome = zoo.search(_recipe(tmp_path, search=search), output_dir=tmp_path / "study")
    client = _client(tmp_path / "study" / "mlflow.db")
    experiment = client.get_experiment_by_name("tiny-exp")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("zoo.search") == "parent"]
    assert len(parents) == 1 and len(runs) == 4
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_objective"] == pytest.approx(outcome.best["value"])
    assert {"trials.md", "best.yaml"} <= _artifacts(client, parent.info.run_id)
    trials = [r for r in runs if r is not parent]
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in trials)
    assert sorted(r.info.run_name for r in trials) == ["trial-0000", "trial-0001", "trial-0002"]
    rates = {float(r.data.params["training.optimizer.learning_rate"]) for r in trials}
    assert len(rates) == 3  # Each trial's own parameters.
    for r in trials:
        assert r.info.status == "FINISHED"
        assert len(client.get_metric_history(r.info.run_id, "val_accuracy")) == 2
        assert "model.keras" in _artifacts(client, r.info.run_id)


def test_tracking_tensorboard_is_refused_or_accepted_like_the_callback():
    from zoo.config.loading import validate

    raw = {k: v for k, v in RECIPE.items() if k != "tracking"}
    recipe = validate({**raw, "tracking": {"tensorboard": True}}, source="t")
    assert recipe.tracking.tensorboard and recipe.tracking.mlflow is None
    with pytest.raises(zoo.errors.ZooError, match=re.escape("tracking.mlflow.url")):
        validate({**raw, "tracking": {"mlflow": {"url": "x"}}}, source="t")
