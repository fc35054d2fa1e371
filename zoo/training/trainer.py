"""The one orchestrator: recipe → strategy → data → model → fit → evaluate → export.

Only this module knows the order of the steps. Everything it writes goes to one run
directory, created only once the data and the model are known to be good.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from zoo.config.loading import to_yaml
from zoo.config.schema import Recipe
from zoo.errors import ZooError
from zoo.evaluation import card, report, scoring
from zoo.export import verify
from zoo.export import writers as export
from zoo.models.registry import DATA_PARAMETERS, build_model, get_model_entry
from zoo.training import compat_multi_worker, compiling
from zoo.training import resume as resume_state
from zoo.training import strategies as distribute

log = logging.getLogger("zoo")

DEFAULT_RUNS_DIR = Path("runs")


@dataclass(frozen=True)
class RunResult:
    """What a run produced: its directory, final metrics per split, and the history."""

    run_dir: Path
    metrics: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)


def choose_run_dir(
    recipe: Recipe,
    output_dir: str | Path | None,
    overwrite: bool,
    resume: bool = False,
    *,
    writer: bool = True,
) -> tuple[Path, bool]:
    """(run directory, whether to resume the unfinished run in it). Checked before
    training; the directory is created only after loading.

    `output_dir` is used when it is new or empty, resumed when it holds an unfinished run
    of the same recipe (see zoo/resume.py), replaced with `overwrite`, refused otherwise.
    Without it: a fresh `runs/<recipe>-<timestamp>`, or with `resume` the newest
    unfinished one. `writer` is False on multi-worker followers, which write elsewhere."""
    if resume and overwrite:
        raise ZooError(
            "--resume continues an unfinished run and --overwrite starts one afresh; "
            "pass one of them."
        )
    if output_dir is None:
        if resume:
            found = resume_state.latest_unfinished(DEFAULT_RUNS_DIR, recipe.name)
            if found is None:
                raise ZooError(
                    f"--resume: no unfinished run of {recipe.name} under {DEFAULT_RUNS_DIR}/ "
                    "(an unfinished run has recipe.yaml but no metrics.json). Name one with "
                    "--output-dir DIR, or leave out --resume to start a new run."
                )
            _check_same_recipe(found, recipe)
            return found, True
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = DEFAULT_RUNS_DIR / f"{recipe.name}-{stamp}"
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return path, False
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise ZooError(f"--output-dir {path} is a file, not a directory; choose another path.")
    if not overwrite and resume_state.is_unfinished(path):
        _check_same_recipe(path, recipe)
        return path, True
    if resume:
        raise ZooError(
            f"--resume: {path} holds no unfinished run (it has no recipe.yaml, or it has "
            "metrics.json, so the run finished). Leave out --resume to start a new run."
        )
    if writer and path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ZooError(
            f"--output-dir {path} already holds a run. Choose a new directory, or pass "
            "--overwrite (train(..., overwrite=True)) to replace it."
        )
    return path, False


def _check_same_recipe(run_dir: Path, recipe: Recipe) -> None:
    if (run_dir / "recipe.yaml").read_text() != to_yaml(recipe):
        raise ZooError(
            f"{run_dir} holds an unfinished run of a different recipe (its recipe.yaml is not "
            "this recipe with these --set overrides). Run the same command as before to "
            "resume it, or pass --overwrite to start a new run there."
        )


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("zoo", "tensorflow", "keras", "tensorflow-datasets", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _model_params(recipe: Recipe, info_params: dict[str, Any]) -> dict[str, Any]:
    entry = get_model_entry(recipe.model.name)
    params = dict(recipe.model.params)
    for name in DATA_PARAMETERS:
        if name in entry.parameters and name not in params and name in info_params:
            params[name] = info_params[name]
    return params


def _callbacks(
    recipe: Recipe, run_dir: Path, has_validation: bool, earlier: dict[str, list[float]]
) -> list[Any]:
    """The recipe's callbacks writing into `run_dir`; `earlier` is the history of the
    epochs a resumed run already did (empty for a new run)."""
    import keras

    cb = recipe.training.callbacks
    monitor = cb.checkpoint.monitor
    if monitor.startswith("val_") and not has_validation:
        monitor = monitor.removeprefix("val_")  # No validation split: judge on training.
    callbacks: list[Any] = [
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=bool(earlier)),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / "checkpoints" / "best.keras"),
            monitor=monitor,
            mode=cb.checkpoint.mode,
            save_best_only=True,
            initial_value_threshold=resume_state.best_so_far(earlier, monitor, cb.checkpoint.mode),
        ),
    ]
    if cb.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(**cb.early_stopping.model_dump()))
    if cb.reduce_lr_on_plateau:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(**cb.reduce_lr_on_plateau.model_dump()))
    if cb.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    return callbacks


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def run(
    recipe: Recipe,
    *,
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    verbose: int | str = "auto",
    callbacks: Sequence[Any] = (),
) -> RunResult:
    """Train, evaluate and export `recipe`; returns the metrics and the run directory.

    An unfinished run in `output_dir` (or with `resume`, the newest unfinished run of the
    recipe) continues from its last completed epoch. On a multi-worker cluster only the
    chief writes the run directory; the other workers do the same work (collective ops
    need every worker) in a scratch directory that is deleted afterwards.
    `callbacks` (Keras callbacks) run after the recipe's own, e.g. for benchmarks."""
    chief = distribute.is_chief(recipe.distribution)
    run_dir, resuming = choose_run_dir(recipe, output_dir, overwrite, resume, writer=chief)
    if chief:
        return _run(recipe, run_dir, run_dir, resuming, verbose, callbacks)
    scratch = Path(tempfile.mkdtemp(prefix="zoo-worker-"))
    try:
        return _run(recipe, run_dir, scratch, resuming, verbose, callbacks)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _weights_digest(model: Any) -> str:
    """A short checksum of the trained weights: equal on every worker of a cluster."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.numpy().tobytes())
    return digest.hexdigest()[:16]


def _run(
    recipe: Recipe,
    run_dir: Path,
    out_dir: Path,
    resuming: bool,
    verbose: int | str,
    callbacks: Sequence[Any],
) -> RunResult:
    """The run itself. `run_dir` is the run's directory (where a backup is restored from);
    `out_dir` is where this process writes: `run_dir` on the chief, scratch elsewhere."""
    import keras
    import numpy as np

    from zoo import data as zoo_data

    # The strategy first: multi-worker must configure TensorFlow before anything runs.
    strategy = distribute.strategy(recipe.distribution)
    keras.utils.set_random_seed(recipe.seed)
    bundle = zoo_data.load(recipe.data, batch_size=recipe.training.batch_size, seed=recipe.seed)
    missing = [s for s in recipe.evaluation.splits if bundle.split(s) is None]
    if missing:
        raise ZooError(
            f"evaluation.splits names {', '.join(missing)}, but data.splits gives no such "
            "split; add it under data.splits or remove it from evaluation.splits."
        )
    info = bundle.info
    train_steps = compiling.steps_per_epoch(
        info.num_examples["train"], recipe.training.batch_size, recipe.training.steps_per_epoch
    )
    params = _model_params(recipe, info.model_params())
    with strategy.scope(), compiling.precision_policy(recipe.training.mixed_precision):
        model = build_model(recipe.model.name, **params)
        model.compile(
            optimizer=compiling.optimizer(
                recipe.training,
                train_steps,
                strategy.num_replicas_in_sync if recipe.distribution.scale_learning_rate else 1,
            ),
            loss=compiling.loss(recipe.training.loss),
            metrics=compiling.metrics(recipe.training.metrics),
            **compiling.compile_options(recipe.training),
        )
    log.info(
        "model %s: %s parameters; %d steps per epoch, global batch %d (%d per replica)",
        recipe.model.name,
        f"{model.count_params():,}",
        train_steps,
        recipe.training.batch_size,
        recipe.training.batch_size // strategy.num_replicas_in_sync,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    if not resuming:  # --overwrite: nothing of the old run may be resumed or look finished.
        resume_state.remove_backup(out_dir)
        (out_dir / "metrics.json").unlink(missing_ok=True)
    (out_dir / "checkpoints").mkdir(exist_ok=True)
    (out_dir / "recipe.yaml").write_text(to_yaml(recipe))
    _write_json(
        out_dir / "environment.json",
        {"versions": _versions(), "seed": recipe.seed, "replicas": strategy.num_replicas_in_sync},
    )
    if info.class_names:  # Which output index is which class (e.g. mapped CSV labels).
        _write_json(
            out_dir / "classes.json",
            {"class_names": list(info.class_names), "label_mapping": info.label_mapping()},
        )
    writes_run_dir = out_dir == run_dir  # False on multi-worker followers.
    backup_dir = run_dir / resume_state.BACKUP_DIR
    done = resume_state.backed_up_epochs(backup_dir) if resuming else 0
    earlier: dict[str, list[float]] = {}
    if resuming:
        log.info("resuming %s after epoch %d of %d", run_dir, done, recipe.training.epochs)
        if writes_run_dir:
            resume_state.truncate_history(run_dir / "history.csv", done)
            earlier = resume_state.read_history(run_dir / "history.csv")

    train_ds = bundle.model_ready("train")
    validation_ds = bundle.model_ready("validation")
    if recipe.training.steps_per_epoch:
        train_ds = train_ds.repeat()
    batch, counts = recipe.training.batch_size, info.num_examples
    fit_train, pass_steps = distribute.for_workers(
        train_ds, strategy, batch, None if recipe.training.steps_per_epoch else counts["train"]
    )
    fit_validation, validation_steps = validation_ds, None
    if validation_ds is not None:
        fit_validation, validation_steps = distribute.for_workers(
            validation_ds, strategy, batch, counts.get("validation")
        )
    fit_callbacks = [
        *_callbacks(recipe, out_dir, validation_ds is not None, earlier),
        # After the CSV logger: an epoch is backed up only once its history row is written.
        resume_state.callback(
            backup_dir if resuming else None, backup_dir if writes_run_dir else None
        ),
        *callbacks,
    ]
    if validation_ds is not None:  # First, so the history and CSV log see its scores.
        fit_callbacks.insert(
            0,
            scoring.validation_callback(
                validation_ds, recipe.training.metrics, recipe.training.loss, info.class_names
            ),
        )
    start = time.perf_counter()
    with compat_multi_worker.patched(model, strategy):
        history = model.fit(
            fit_train,
            epochs=recipe.training.epochs,
            steps_per_epoch=recipe.training.steps_per_epoch or pass_steps,
            validation_data=fit_validation,
            validation_steps=recipe.training.validation_steps or validation_steps,
            callbacks=fit_callbacks,
            shuffle=False,  # The pipeline shuffles; Keras would only warn.
            verbose=verbose,
        )
    train_seconds = time.perf_counter() - start
    log.info("weights checksum: %s", _weights_digest(model))
    # From here on the model takes raw input, as users and exports see it.
    model = export.with_preprocessor(model, bundle.preprocessor, info)

    eval_metrics = recipe.evaluation.metrics
    if eval_metrics is None:
        eval_metrics = recipe.training.metrics
    metrics: dict[str, Any] = {}
    reports: dict[str, Any] = {}
    for split in recipe.evaluation.splits:
        labels, probs = scoring.collect(scoring.predictor(model), bundle.split(split))
        metrics[split], split_report = scoring.score(
            labels,
            probs,
            loss=recipe.training.loss,
            metrics=eval_metrics,
            class_names=info.class_names,
        )
        if split_report is not None:
            reports[split] = split_report
        log.info("%s: %s", split, ", ".join(f"{k}={v:.4f}" for k, v in metrics[split].items()))
    history_lists = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    if writes_run_dir:  # Every epoch, also those done before a resume.
        history_lists = resume_state.read_history(run_dir / "history.csv") or history_lists
    metrics["training"] = {
        "epochs": len(history_lists.get("loss", [])),
        "seconds": round(train_seconds, 2),
        "parameters": int(model.count_params()),
    }
    if resuming:
        metrics["training"]["resumed_after_epoch"] = done

    exported: dict[str, Path] = {}
    if recipe.export.keras:
        exported["keras"] = export.save_keras(model, out_dir / "model.keras")
    if recipe.export.saved_model:
        exported["saved_model"] = export.save_saved_model(model, out_dir / "saved_model", info)
    if recipe.export.tflite:
        exported["tflite"] = export.save_tflite(model, out_dir / "model.tflite", info)
    if exported and writes_run_dir:  # Followers' exports are scratch: nothing to check.
        held_out = bundle.split(recipe.evaluation.splits[0]).take(2)
        sample_inputs = np.concatenate([x.numpy() for x, _ in held_out])[:64]
        expected = scoring.predictor(model)(sample_inputs)  # Keras predict rejects strings.
        metrics["export"] = verify.check(exported, sample_inputs, expected)
    if reports:
        metrics["report"] = reports
    _write_reports(out_dir, recipe, reports, history_lists)
    card.write(out_dir, recipe, metrics, info, versions=_versions())
    _write_json(out_dir / "metrics.json", metrics)  # Last: the run is now finished.
    resume_state.remove_backup(out_dir)
    log.info("run directory: %s", run_dir)
    return RunResult(
        run_dir=run_dir,
        metrics=metrics,
        history=history_lists,
    )


def _write_reports(
    run_dir: Path, recipe: Recipe, reports: dict[str, Any], history: dict[str, list[float]]
) -> None:
    """Confusion-matrix PNG per classification split and the training curves PNG."""
    for split, split_report in reports.items():
        report.write_split_report(run_dir, split, split_report, recipe.name)
    if history:
        report.plot_history(history, run_dir / "training_curves.png", f"{recipe.name}: training")
