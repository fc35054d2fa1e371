"""Experiment tracking: a recipe's `tracking:` section sent to TensorBoard and MLflow.

Why a module of its own: the trainer stays one loop; it asks this module for its callbacks
(one line in `trainer._callbacks`) and calls `finish` once the run folder is complete. The
MLflow run is opened when fit begins, so per-epoch metrics appear while training runs;
`finish` adds the final test metrics, the card, plots and the model, and ends it. A search
opens one parent run (`search_run`) and every trial's run is nested under it, also from
worker processes (the parent's id and store travel in ZOO_MLFLOW_* variables).

The default store is `sqlite:///<run folder's parent>/mlflow.db` with artifacts in
`mlartifacts/` beside it: `mlflow ui --backend-store-uri sqlite:///runs/mlflow.db` opens
it. Only the chief of a cluster logs; a `--check` run (scratch folder) logs nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from zoo import settings
from zoo.runs import layout

log = logging.getLogger(__name__)
_open: dict[str, str] = {}  # Run folder → its MLflow run id, from fit's start to finish.
_PARAMS_PER_CALL = 100  # MLflow's limit on params in one batch.
_ARTIFACTS = (layout.CARD, layout.METRICS, layout.RECIPE, layout.HISTORY, layout.MODEL)


def callbacks(recipe: Any, run_dir: Any) -> list[Any]:
    """The Keras callbacks `recipe.tracking` asks for (none on a non-chief worker)."""
    import keras

    out: list[Any] = []
    if recipe.tracking.tensorboard and not recipe.training.callbacks.tensorboard:
        out.append(keras.callbacks.TensorBoard(str(run_dir.file(layout.TENSORBOARD))))
    if recipe.tracking.mlflow is not None and run_dir.chief:
        out.append(_mlflow_callback(recipe, Path(run_dir.path)))
    return out


def store_uri(recipe: Any, runs_folder: Path) -> str:
    """The MLflow store: the recipe's `uri`, else the search's (ZOO_MLFLOW_URI), else a
    SQLite file in `runs_folder`."""
    given = recipe.tracking.mlflow.uri or os.environ.get(settings.MLFLOW_URI)
    return given or f"sqlite:///{(runs_folder / 'mlflow.db').resolve()}"


def _client(uri: str) -> Any:
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri)


def _experiment(client: Any, name: str, uri: str) -> str:
    """The experiment's id, created on first use with its artifacts beside a SQLite store
    (MLflow's own default would be ./mlruns in whatever folder zoo was started from)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri[len("sqlite:///") :]).parent / "mlartifacts").resolve().as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    """A resolved recipe as MLflow params: `training.optimizer.name` → `adam`; lists as
    JSON, so `[64, 32]` reads as written."""
    if isinstance(tree, Mapping) and tree:
        out: dict[str, str] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    text = json.dumps(tree) if isinstance(tree, (list, dict)) else str(tree)
    return {prefix.rstrip("."): text[:6000]}


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _start(recipe: Any, run_folder: Path, parent: str | None = None) -> tuple[Any, str]:
    """(client, run id) of a new MLflow run for `recipe`, with its params and tags."""
    from mlflow.entities import Param, RunTag

    section = recipe.tracking.mlflow
    uri = store_uri(recipe, run_folder.parent)
    client = _client(uri)
    experiment = _experiment(client, section.experiment or recipe.name, uri)
    tags = {
        "mlflow.runName": run_folder.name,
        "zoo.recipe": recipe.name,
        "zoo.model": recipe.model.name,
        "zoo.run_dir": str(run_folder.resolve()),
    }
    commit = _git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    parent = parent or os.environ.get(settings.MLFLOW_PARENT_RUN)
    if parent:
        tags["mlflow.parentRunId"] = parent
    run = client.create_run(experiment, tags=tags)
    run_id = run.info.run_id
    params = [Param(k, v) for k, v in flatten(recipe.model_dump(mode="json")).items()]
    for i in range(0, len(params), _PARAMS_PER_CALL):
        client.log_batch(run_id, params=params[i : i + _PARAMS_PER_CALL])
    client.log_batch(run_id, tags=[RunTag("zoo.description", recipe.description or "-")])
    return client, run_id


def _mlflow_callback(recipe: Any, run_folder: Path) -> Any:
    import keras

    class MlflowLogger(keras.callbacks.Callback):
        """Opens the MLflow run when fit begins and logs every epoch's metrics."""

        def __init__(self) -> None:
            super().__init__()
            self.client: Any = None
            self.run_id = ""

        def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
            key = str(run_folder)
            if key in _open:  # A resumed fit in the same process: the same run.
                self.client = _client(store_uri(recipe, run_folder.parent))
                self.run_id = _open[key]
                return
            self.client, self.run_id = _start(recipe, run_folder)
            _open[key] = self.run_id
            log.info("mlflow: run %s in %s", self.run_id, self.client.tracking_uri)

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            from mlflow.entities import Metric

            now = _millis()
            metrics = [
                Metric(k, float(v), now, epoch)
                for k, v in (logs or {}).items()
                if isinstance(v, (int, float)) or hasattr(v, "__float__")
            ]
            if metrics:
                self.client.log_batch(self.run_id, metrics=metrics)

    return MlflowLogger()


def _millis() -> int:
    import time

    return int(time.time() * 1000)


def finish(recipe: Any, run_dir: Any, metrics: Mapping[str, Any], limits: Any) -> None:
    """After the run folder is complete: final metrics (`test_accuracy`, ...), the card,
    plots and the model as artifacts; the MLflow run ends FINISHED. A `--check` run's
    MLflow run is deleted: it trained one batch and is no result."""
    run_id = _open.pop(str(run_dir.path), None)
    if recipe.tracking.mlflow is None or run_id is None:
        return
    from mlflow.entities import Metric

    folder = Path(run_dir.path)
    client = _client(store_uri(recipe, folder.parent))
    if limits.scratch:
        client.delete_run(run_id)
        return
    now = _millis()
    final = [
        Metric(f"{split}_{name}", float(value), now, 0)
        for split, scores in metrics.items()
        if split not in ("training", "export", "report") and isinstance(scores, Mapping)
        for name, value in scores.items()
        if isinstance(value, (int, float))
    ]
    if final:
        client.log_batch(run_id, metrics=final)
    for name in _ARTIFACTS:
        if (folder / name).is_file():
            client.log_artifact(run_id, str(folder / name))
    for plot in sorted(folder.glob("*.png")):
        client.log_artifact(run_id, str(plot), artifact_path="plots")
    client.set_terminated(run_id, "FINISHED")
    log.info("mlflow: run %s finished (%s)", run_id, client.tracking_uri)


@contextlib.contextmanager
def search_run(recipe: Any, study_dir: Path) -> Iterator[Any]:
    """One parent MLflow run around a search's trials (when the recipe tracks to MLflow):
    trials, in this process or in workers, nest under it. Yields a function that logs the
    study's results to it (`done(best, files)`), or None when nothing is tracked."""
    if recipe.tracking.mlflow is None:
        yield None
        return
    uri = recipe.tracking.mlflow.uri or f"sqlite:///{(study_dir / 'mlflow.db').resolve()}"
    parent_recipe = recipe.model_copy(
        update={
            "tracking": recipe.tracking.model_copy(
                update={"mlflow": recipe.tracking.mlflow.model_copy(update={"uri": uri})}
            )
        }
    )
    client, run_id = _start(parent_recipe, study_dir)
    client.set_tag(run_id, "zoo.search", "parent")
    saved = {k: os.environ.get(k) for k in (settings.MLFLOW_URI, settings.MLFLOW_PARENT_RUN)}
    os.environ[settings.MLFLOW_URI] = uri
    os.environ[settings.MLFLOW_PARENT_RUN] = run_id
    status = "FAILED"

    def done(best: Mapping[str, Any] | None, files: list[Path]) -> None:
        if best is not None:
            client.log_metric(run_id, "best_objective", float(best["value"]))
            client.set_tag(run_id, "zoo.best_trial", str(best["number"]))
        for path in files:
            if path.is_file():
                client.log_artifact(run_id, str(path))

    try:
        yield done
        status = "FINISHED"
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        client.set_terminated(run_id, status)
