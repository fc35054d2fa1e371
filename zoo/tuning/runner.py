"""Trial processes: each worker asks the study for a trial, trains it as an ordinary run
in `<study>/trials/trial-NNNN`, and tells the study its objective (or that it was pruned).

A worker loop stops when `trials` trials count (complete, pruned, failed by an error, or
running now) or its `timeout` has passed. Asking is serialised by a lock file in the study
folder so several local workers never start more trials than asked for. The pruning
callback reports each epoch's validation score; when the pruner says stop, it raises
`RunStopped`, so RunDir marks the trial's folder `pruned` (not finished, not failed).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zoo.config.search_space import Search, trial_raw
from zoo.tuning import describe
from zoo.tuning import study as studies

log = logging.getLogger(__name__)


def trial_dir(study_dir: Path, number: int) -> Path:
    return study_dir / studies.TRIALS / f"trial-{number:04d}"


@contextmanager
def _ask_lock(study_dir: Path) -> Iterator[None]:
    with open(study_dir / ".ask.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pruning_callback(trial: Any, monitored: str) -> Any:
    """A Keras callback reporting `monitored` each epoch; raises RunStopped on prune."""
    import keras

    from zoo.runs.status import RunStopped

    class Pruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
            value = (logs or {}).get(monitored)
            if value is None:
                return
            trial.report(float(value), epoch)
            if trial.should_prune():
                trial.set_user_attr("pruned_epoch", epoch)
                trial.set_user_attr("pruned_value", float(value))
                trial.set_user_attr("pruned_monitor", monitored)
                raise RunStopped(
                    f"pruned by the search after epoch {epoch + 1}: {monitored}={value:.4f}"
                )

    return Pruning()


def monitored_name(search: Search, recipe: Any) -> str:
    """The per-epoch log key the pruner watches: `val_<metric>` on validation."""
    from zoo.config import catalog

    k = next((m.k for m in recipe.training.metrics if m.name == search.objective.metric), None)
    name = catalog.metric_log_name(search.objective.metric, k)
    return name if search.objective.split == "train" else f"val_{name}"


def run_trial(trial: Any, search: Search, base: Mapping[str, Any], study_dir: Path) -> float:
    """Train one trial's recipe in its run folder; its objective value."""
    import optuna

    from zoo.config.loading import to_yaml, validate
    from zoo.runs.status import RunStopped
    from zoo.training import trainer
    from zoo.training.limits import trial as trial_limits

    params = {p: _suggest(trial, p, d) for p, d in search.parameters.items()}
    log.info("trial %d started: %s", trial.number, describe.params(params))
    raw = trial_raw(base, search, params)
    if "description" not in params:  # The searched recipe's own described other values.
        raw["description"] = describe.description(
            f"{base.get('name')}-search", trial.number, params
        )
    recipe = validate(raw, source=f"trial {trial.number}")
    out = trial_dir(study_dir, trial.number)
    trial.set_user_attr("run_dir", str(out))
    trial.set_user_attr("recipe_yaml", to_yaml(recipe))
    callbacks = []
    if search.pruner is not None:
        callbacks.append(pruning_callback(trial, monitored_name(search, recipe)))
    try:
        result = trainer.run(
            recipe,
            output_dir=out,
            callbacks=callbacks,
            verbose=0,
            limits=trial_limits(search.objective.split),
        )
    except RunStopped as stop:
        raise optuna.TrialPruned(stop.reason) from stop
    finally:
        import keras

        keras.utils.clear_session(free_memory=True)
    score = result.metrics[search.objective.split][search.objective.metric]
    return float(score)


def _suggest(trial: Any, path: str, dist: Any) -> Any:
    """Optuna suggestion for one parameter (choices by index so lists stay lists)."""
    if dist.choice is not None:
        if all(isinstance(c, (str, int, float, bool)) or c is None for c in dist.choice):
            return trial.suggest_categorical(path, list(dist.choice))
        index = trial.suggest_categorical(
            path, [json.dumps(c, sort_keys=True) for c in dist.choice]
        )
        return json.loads(index)
    if dist.loguniform is not None:
        return trial.suggest_float(path, *dist.loguniform, log=True)
    if dist.uniform is not None:
        return trial.suggest_float(path, *dist.uniform, step=dist.step, log=dist.log)
    return trial.suggest_int(path, *dist.int, step=int(dist.step or 1), log=dist.log)


def decode(search: Search, params: Mapping[str, Any]) -> dict[str, Any]:
    """Stored Optuna params as recipe values (list/dict choices were stored as JSON)."""
    out = {}
    for path, value in params.items():
        dist = search.parameters.get(path)
        scalar = (
            dist is None
            or dist.choice is None
            or all(isinstance(c, (str, int, float, bool)) or c is None for c in dist.choice)
        )
        out[path] = value if scalar else json.loads(value)
    return out


def _outcome(search: Search, trial: Any, state: str, value: float | None, seconds: float) -> str:
    """The line saying how a trial ended (zoo/tuning/describe.py)."""
    attrs = trial.user_attrs
    objective = f"{search.objective.split} {search.objective.metric}"
    if state == "pruned":
        objective, value = attrs.get("pruned_monitor", objective), attrs.get("pruned_value")
    return describe.outcome(
        trial.number,
        state,
        objective,
        value,
        pruned_epoch=attrs.get("pruned_epoch"),
        error=attrs.get("error"),
        seconds=seconds,
    )


def worker(
    search: Search, base: Mapping[str, Any], study_dir: Path, storage_url: str, name: str, seed: int
) -> int:
    """Ask, run and tell trials until the study has `trials` of them; trials run here."""
    opt = studies.optuna()
    storage = studies.open_storage(storage_url)
    study = studies.load(search, name, storage, seed)
    started = time.monotonic()
    ran = 0
    while True:
        if search.timeout is not None and time.monotonic() - started > search.timeout:
            break
        with _ask_lock(study_dir):
            if studies.counted(study) >= studies.trial_budget(search):
                break
            trial = study.ask()
            trial.set_user_attr("host", studies.HOST)
            trial.set_user_attr("pid", os.getpid())
        begun = time.monotonic()
        state, value = opt.trial.TrialState.COMPLETE, None
        try:
            value = run_trial(trial, search, base, study_dir)
        except opt.TrialPruned:
            state = opt.trial.TrialState.PRUNED
        except Exception as exc:  # A trial failing must not end the study; say why.
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:1000])
            state = opt.trial.TrialState.FAIL
        seconds = round(time.monotonic() - begun, 2)
        trial.set_user_attr("seconds", seconds)
        study.tell(trial, value, state=state)
        log.info("%s", _outcome(search, trial, state.name.lower(), value, seconds))
        ran += 1
    return ran
