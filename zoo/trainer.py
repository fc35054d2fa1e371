"""The one orchestrator: recipe → strategy → data → model → fit → evaluate → export.

Only this module knows the order of the steps. Everything it writes goes to one run
directory, created only once the data and the model are known to be good.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from zoo import card, compat_multi_worker, compiling, distribute, export, report, scoring, verify
from zoo.errors import ZooError
from zoo.recipe import to_yaml
from zoo.registry import DATA_PARAMETERS, build_model, get_model_entry
from zoo.schema import Recipe

log = logging.getLogger("zoo")

DEFAULT_RUNS_DIR = Path("runs")


@dataclass(frozen=True)
class RunResult:
    """What a run produced: its directory, final metrics per split, and the history."""

    run_dir: Path
    metrics: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)


def choose_run_dir(recipe: Recipe, output_dir: str | Path | None, overwrite: bool) -> Path:
    """The run directory: `output_dir` (must be new or empty unless `overwrite`), or a
    fresh `runs/<recipe>-<timestamp>`. Checked before training, created after loading."""
    if output_dir is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = DEFAULT_RUNS_DIR / f"{recipe.name}-{stamp}"
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return path
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise ZooError(f"--output-dir {path} is a file, not a directory; choose another path.")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ZooError(
            f"--output-dir {path} already holds a run. Choose a new directory, or pass "
            "--overwrite (train(..., overwrite=True)) to replace it."
        )
    return path


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


def _callbacks(recipe: Recipe, run_dir: Path, has_validation: bool) -> list[Any]:
    import keras

    cb = recipe.training.callbacks
    monitor = cb.checkpoint.monitor
    if monitor.startswith("val_") and not has_validation:
        monitor = monitor.removeprefix("val_")  # No validation split: judge on training.
    callbacks: list[Any] = [
        keras.callbacks.CSVLogger(str(run_dir / "history.csv")),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / "checkpoints" / "best.keras"),
            monitor=monitor,
            mode=cb.checkpoint.mode,
            save_best_only=True,
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
    verbose: int | str = "auto",
    callbacks: Sequence[Any] = (),
) -> RunResult:
    """Train, evaluate and export `recipe`; returns the metrics and the run directory.

    `callbacks` (Keras callbacks) run after the recipe's own, e.g. for benchmarks."""
    run_dir = choose_run_dir(recipe, output_dir, overwrite)

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

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    (run_dir / "recipe.yaml").write_text(to_yaml(recipe))
    _write_json(
        run_dir / "environment.json",
        {"versions": _versions(), "seed": recipe.seed, "replicas": strategy.num_replicas_in_sync},
    )

    train_ds = bundle.model_ready("train")
    validation_ds = bundle.model_ready("validation")
    if recipe.training.steps_per_epoch:
        train_ds = train_ds.repeat()
    train_ds = distribute.shard_by_data(train_ds)
    if validation_ds is not None:
        validation_ds = distribute.shard_by_data(validation_ds)
    fit_callbacks = [*_callbacks(recipe, run_dir, validation_ds is not None), *callbacks]
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
            train_ds,
            epochs=recipe.training.epochs,
            steps_per_epoch=recipe.training.steps_per_epoch,
            validation_data=validation_ds,
            validation_steps=recipe.training.validation_steps,
            callbacks=fit_callbacks,
            shuffle=False,  # The pipeline shuffles; Keras would only warn.
            verbose=verbose,
        )
    train_seconds = time.perf_counter() - start
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
    metrics["training"] = {
        "epochs": len(history.history.get("loss", [])),
        "seconds": round(train_seconds, 2),
        "parameters": int(model.count_params()),
    }

    exported: dict[str, Path] = {}
    if recipe.export.keras:
        exported["keras"] = export.save_keras(model, run_dir / "model.keras")
    if recipe.export.saved_model:
        exported["saved_model"] = export.save_saved_model(model, run_dir / "saved_model", info)
    if recipe.export.tflite:
        exported["tflite"] = export.save_tflite(model, run_dir / "model.tflite", info)
    if exported:
        held_out = bundle.split(recipe.evaluation.splits[0]).take(2)
        sample_inputs = np.concatenate([x.numpy() for x, _ in held_out])[:64]
        expected = model.predict(sample_inputs, verbose=0)
        metrics["export"] = verify.check(exported, sample_inputs, expected)
    if reports:
        metrics["report"] = reports
    history_lists = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    _write_reports(run_dir, recipe, reports, history_lists)
    _write_json(run_dir / "metrics.json", metrics)
    card.write(run_dir, recipe, metrics, info, versions=_versions())
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
