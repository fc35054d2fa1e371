"""The one orchestrator: recipe → strategy → data → model → fit → evaluate → export.

Only this module knows the order of the steps; `_run` reads as that list. Every write
into the run folder goes through `RunDir` (zoo/runs/folder.py), which decided the
folder, holds its lock, and writes `metrics.json` last. The folder's first write happens
only once the data and the model are known to be good.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.config.monitors import resolve_monitors
from zoo.config.schema import Recipe
from zoo.data.pipeline_errors import explained
from zoo.errors import ZooError
from zoo.evaluation import card, losses_and_metrics, report, scoring
from zoo.exporting import writers as export
from zoo.fs import writing
from zoo.logs import progress_verbosity
from zoo.models.registry import build_model, with_data_params
from zoo.presets import transfer
from zoo.runs import layout
from zoo.runs.folder import RunDir
from zoo.runs.layout import DEFAULT_RUNS_DIR, LOG
from zoo.runs.transcript import Transcript
from zoo.training import compat_multi_worker, compiling, tracking
from zoo.training import resume as resume_state
from zoo.training import strategies as distribute
from zoo.training import throughput as training_throughput
from zoo.training.limits import FULL, Limits
from zoo.training.lr_logging import learning_rate_logger
from zoo.training.stages import Stages
from zoo.version import versions

if TYPE_CHECKING:
    import keras

    from zoo.data.bundle import DataBundle

log = logging.getLogger("zoo")

__all__ = ["DEFAULT_RUNS_DIR", "RunResult", "run"]


@dataclass(frozen=True)
class RunResult:
    """What a run produced: its directory, final metrics per split, and the history."""

    run_dir: Path
    metrics: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)
    stages: Stages = field(default_factory=Stages)

    def lines(self) -> list[str]:
        """The stage report (what `zoo train --check` prints)."""
        return self.stages.lines()


def run(
    recipe: Recipe,
    *,
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    verbose: int | str = "auto",
    callbacks: Sequence[Any] = (),
    source: str | Path | None = None,
    limits: Limits = FULL,
) -> RunResult:
    """Train, evaluate and export `recipe`; returns the metrics and the run directory.

    An unfinished run in `output_dir` (or with `resume`, the newest unfinished run of the
    recipe) continues where it stopped: after its last completed epoch, or, when fit had
    finished, straight at evaluation. On a multi-worker cluster only the chief writes the
    run directory; the other workers do the same work (collective ops need every worker)
    in a scratch directory that is deleted afterwards. `source` is the recipe file, if
    any (never allowed inside the run folder; resume compares paths relative to it).
    `callbacks` (Keras callbacks) run after the recipe's own, e.g. for benchmarks.
    `limits` makes this the `--check` dev run or a search trial (zoo/training/limits.py):
    the same steps, on less data or with less written."""
    from zoo.exporting import pipeline

    if verbose == "auto":  # One line per epoch off a terminal, for the API as for the CLI.
        verbose = progress_verbosity()
    recipe = limits.apply(recipe)
    stages = Stages(strict=limits.strict_stages, label=limits.name)
    if limits.export:
        pipeline.require(pipeline.plan(recipe.export))  # A missing extra: before any work.
    chief = distribute.is_chief(recipe.distribution)
    source_path = Path(source) if source is not None else None
    weights_source = None
    if recipe.model.init_from:  # Before the claim: a resumed run must find the same source.
        with stages.stage("model.init_from") as say:
            weights_source = transfer.pinned(recipe.model.init_from, recipe.model.init_from_sha256)
            transfer.check_builder(weights_source, recipe.model.name)
            say(weights_source.uri)
        recipe = recipe.model_copy(
            update={
                "model": recipe.model.model_copy(update={"init_from_sha256": weights_source.sha256})
            }
        )
    scratch = Path(tempfile.mkdtemp(prefix=f"zoo-{limits.name}-")) if limits.scratch else None
    try:
        with (
            Transcript() as transcript,
            RunDir.claim(
                recipe,
                scratch if scratch is not None else output_dir,
                overwrite=overwrite,
                resume=resume and scratch is None,
                chief=chief,
                source=source_path,
            ) as run_dir,
        ):
            return _run(
                recipe,
                run_dir,
                verbose,
                callbacks,
                source_path,
                weights_source,
                limits,
                stages,
                transcript,
            )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _run(
    recipe: Recipe,
    run_dir: RunDir,
    verbose: int | str,
    callbacks: Sequence[Any],
    source: Path | None,
    weights_source: transfer.Source | None,
    limits: Limits,
    stages: Stages,
    transcript: Transcript,
) -> RunResult:
    """The steps, in their order. `run_dir` owns every write."""
    strategy, bundle, model, origin = _prepare(recipe, weights_source, stages, source)
    run_dir.start(recipe, source)
    transcript.attach(run_dir.file(LOG))
    _write_environment(run_dir, recipe, strategy, bundle.info, bundle.preprocessor)
    run_dir.write_text(layout.SUMMARY, report.model_summary(model))
    with stages.stage("training", announce=False) as say:
        fitted = _fit(recipe, run_dir, model, bundle, strategy, verbose, callbacks)
        say(f"{len(fitted.history.get('loss', []))} epochs, loss {_last(fitted.history)}")
    # From here on the model takes raw input, as users and exports see it.
    views = recipe.data.test_time()
    model = export.with_preprocessor(model, bundle.preprocessor, bundle.info, views and views[1])
    with stages.stage("evaluation") as say:
        metrics, reports = _evaluate(recipe, model, bundle, limits)
        for split, scores in report.all_scores({**metrics, "report": reports}).items():
            log.info("%s: %s", split, ", ".join(f"{k}={v:.4f}" for k, v in scores.items()))
        say("; ".join(f"{s}: {_shown(v)}" for s, v in metrics.items()) or "no split scored")
    metrics["training"] = fitted.summary(model)
    if origin:
        metrics["training"]["init_from"] = origin
    run_dir.set_status("evaluated")
    with stages.stage("export") as say:
        checks = _export(recipe, run_dir, model, bundle, limits)
        say(", ".join(f"{k} {'verified' if c.get('ok') else 'written'}" for k, c in checks.items()))
    if checks and limits.verify_exports:
        metrics["export"] = checks
    run_dir.set_status("exported")
    if reports:
        metrics["report"] = reports
    with stages.stage("report"):
        _finish(run_dir, recipe, metrics, reports, fitted.history, bundle.info, limits)
    tracking.finish(recipe, run_dir, metrics, limits)  # MLflow: final metrics, artifacts.
    log.info("time by stage: %s", stages.breakdown())
    if not limits.scratch:
        log.info("run directory: %s", run_dir.path)
    return RunResult(run_dir.path, metrics, fitted.history, stages)


def _last(history: dict[str, list[float]]) -> str:
    losses = history.get("loss") or [float("nan")]
    return f"{losses[-1]:.4f}"


def _shown(scores: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.3f}" for k, v in list(scores.items())[:3])


# ---------------------------------------------------------------------- step 1: prepare
def _prepare(
    recipe: Recipe,
    weights_source: transfer.Source | None,
    stages: Stages,
    source: Path | None = None,
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(strategy, data bundle, compiled model, where its starting weights came from).
    Nothing is written yet: a model the recipe's export formats cannot convert is refused
    here, before fit."""
    import keras

    from zoo import data as zoo_data

    # The strategy first: multi-worker must configure TensorFlow before anything runs.
    with stages.stage("strategy", announce=False) as say:
        strategy = distribute.strategy(recipe.distribution)
        say(f"{type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s)")
    keras.utils.set_random_seed(recipe.seed)
    with stages.stage("data", announce=False) as say:
        bundle = zoo_data.load(recipe.data, batch_size=recipe.training.batch_size, seed=recipe.seed)
        missing = [s for s in recipe.evaluation.splits if bundle.split(s) is None]
        if missing:
            raise ZooError(
                f"evaluation.splits names {', '.join(missing)}, but data.splits gives no such "
                "split; add it under data.splits or remove it from evaluation.splits."
            )
        counts = ", ".join(f"{k} {v:,}" for k, v in bundle.info.num_examples.items())
        say(f"{counts} examples; {bundle.info.num_classes} classes")
    info = bundle.info
    train_steps = compiling.steps_per_epoch(
        info.num_examples["train"], recipe.training.batch_size, recipe.training.steps_per_epoch
    )
    params = with_data_params(recipe.model.name, recipe.model.params, info.model_params())
    with (
        stages.stage("model", announce=False) as say,
        strategy.scope(),
        compiling.precision_policy(recipe.training.mixed_precision),
    ):
        model = build_model(recipe.model.name, **params)
        _refuse_unconvertible(recipe, model, bundle.preprocessor, source)
        origin = _start_weights(
            recipe, model, weights_source, params.get("num_classes"), bundle.preprocessor
        )
        model.compile(
            optimizer=compiling.optimizer(
                recipe.training,
                train_steps,
                strategy.num_replicas_in_sync if recipe.distribution.scale_learning_rate else 1,
            ),
            loss=losses_and_metrics.loss(recipe.training.loss),
            metrics=losses_and_metrics.metrics(recipe.training.metrics),
            **compiling.compile_options(recipe.training),
        )
        say(f"{recipe.model.name}, {model.count_params():,} parameters")
    log.info(
        "model %s: %s parameters; %d steps per epoch, global batch %d (%d per replica)",
        recipe.model.name,
        f"{model.count_params():,}",
        train_steps,
        recipe.training.batch_size,
        recipe.training.batch_size // strategy.num_replicas_in_sync,
    )
    return strategy, bundle, model, origin


def _refuse_unconvertible(
    recipe: Recipe, model: keras.Model, preprocessor: Any, source: Path | None
) -> None:
    """A RecipeError (exit 2) naming each `export.*` field whose format cannot convert
    this model or the data's preprocessor in front of it (`Format.unconvertible`: layers
    and ops the converter lacks), right after the model is built and before fit: else the
    run would train for hours and fail in the converter afterwards.

    Here, in the one trainer, so `zoo train`, `--check`, the API and every search trial
    get it. A trial checks the recipe's export plan too, though it writes only
    model.keras: the search exports its best trial in those formats. The recipe rules
    refuse earlier what the builder alone decides (`register_model(cannot_export=...)`);
    this check also covers what parameters and data decide."""
    from zoo.config.loading import Problem, RecipeError
    from zoo.exporting import pipeline

    found = pipeline.unconvertible([preprocessor, model], pipeline.plan(recipe.export))
    if not found:
        return
    fields = recipe.export.requested()
    lines = pipeline.describe_unconvertible(recipe.model.name, found, lambda i: fields[i[0]])
    raise RecipeError(
        str(source) if source is not None else repr(recipe.name),
        [
            Problem(where, f"{message} (Found once the model was built, before any training.)")
            for where, message in lines
        ],
    )


def _start_weights(
    recipe: Recipe,
    model: keras.Model,
    weights_source: transfer.Source | None,
    num_classes: Any,
    preprocessor: Any,
) -> dict[str, Any]:
    """model.init_from (weights, head rebuilt on a new class count), then model.freeze;
    returns the record of both for metrics.json and the card (empty when neither)."""
    origin: dict[str, Any] = {}
    if recipe.model.init_from:
        src = weights_source or transfer.pinned(
            recipe.model.init_from, recipe.model.init_from_sha256
        )
        rebuilt = transfer.init_from(model, src, recipe.model.name, num_classes, preprocessor)
        origin.update(uri=src.uri, sha256=src.sha256, kind=src.kind, head_rebuilt=rebuilt)
    if recipe.model.freeze:
        origin["frozen"] = transfer.freeze(model, list(recipe.model.freeze))
    return origin


def _write_environment(
    run_dir: RunDir, recipe: Recipe, strategy: Any, info: Any, preprocessor: Any = None
) -> None:
    from zoo.data.preprocessing import text as text_preprocessing

    vocabulary = text_preprocessing.vocabulary_text(preprocessor)
    if vocabulary is not None:  # Evaluation and re-export rebuild the vectoriser from it.
        run_dir.write_text(text_preprocessing.VOCABULARY_FILE, vocabulary)
    run_dir.write_json(
        layout.ENVIRONMENT,
        {"versions": versions(), "seed": recipe.seed, "replicas": strategy.num_replicas_in_sync},
    )
    # The builder and its full parameters (data ones included): what a preset rebuilds.
    params = with_data_params(recipe.model.name, recipe.model.params, info.model_params())
    run_dir.write_json(
        layout.BUILDER,
        {"name": recipe.model.name, "params": json.loads(json.dumps(params, default=list))},
    )
    if info.class_names:  # Which output index is which class (e.g. mapped CSV labels).
        run_dir.write_json(
            layout.CLASSES,
            {"class_names": list(info.class_names), "label_mapping": info.label_mapping()},
        )


# ---------------------------------------------------------------------- step 2: fit
@dataclass
class _Fitted:
    history: dict[str, list[float]]
    seconds: float
    resumed_after: int | None  # Epochs done before this process (None: a new run).
    throughput: dict[str, Any] | None = None  # zoo/training/throughput.py's record.

    def summary(self, model: keras.Model) -> dict[str, Any]:
        out: dict[str, Any] = {
            "epochs": len(self.history.get("loss", [])),
            "seconds": round(self.seconds, 2),
            "parameters": int(model.count_params()),
        }
        if self.throughput:  # Training examples/s, first epoch left out (throughput.py).
            rest = dict(self.throughput)
            out["examples_per_second"] = rest.pop("examples_per_second")
            out["throughput"] = rest
        if self.resumed_after is not None:
            out["resumed_after_epoch"] = self.resumed_after
        return out


def _fit(
    recipe: Recipe,
    run_dir: RunDir,
    model: keras.Model,
    bundle: DataBundle,
    strategy: Any,
    verbose: int | str,
    extra_callbacks: Sequence[Any],
) -> _Fitted:
    """Fit, or continue an unfinished fit, or (fit already finished) load its weights."""
    backup_dir = run_dir.path / resume_state.BACKUP_DIR
    history_csv = run_dir.path / layout.HISTORY
    done, earlier = 0, {}
    if run_dir.resuming:
        finished = _finished_fit(model, backup_dir, strategy)
        if finished is not None:
            epochs, seconds, speed = finished
            log.info("fit of %s had finished after %d epochs: evaluating", run_dir.path, epochs)
            if run_dir.chief:
                resume_state.truncate_history(history_csv, epochs)
            run_dir.set_status("fitted")
            return _Fitted(resume_state.read_history(history_csv), seconds, epochs, speed)
        done = resume_state.backed_up_epochs(backup_dir)
        log.info("resuming %s after epoch %d of %d", run_dir.path, done, recipe.training.epochs)
        if run_dir.chief:
            resume_state.truncate_history(history_csv, done)
            earlier = resume_state.read_history(history_csv)

    train_ds = bundle.model_ready("train")
    validation_ds = bundle.model_ready("validation")
    if recipe.training.steps_per_epoch:
        train_ds = train_ds.repeat()
    batch, counts = recipe.training.batch_size, bundle.info.num_examples
    fit_train, pass_steps = distribute.for_workers(
        train_ds, strategy, batch, None if recipe.training.steps_per_epoch else counts["train"]
    )
    fit_validation, validation_steps = validation_ds, None
    if validation_ds is not None:
        fit_validation, validation_steps = distribute.for_workers(
            validation_ds, strategy, batch, counts.get("validation")
        )
    own = _callbacks(recipe, run_dir, earlier)
    timer = training_throughput.timer(
        training_throughput.examples_per_epoch(
            counts["train"], batch, recipe.training.steps_per_epoch or pass_steps
        )
    )
    save_to = run_dir.file(resume_state.BACKUP_DIR) if run_dir.chief else None
    fit_callbacks = [
        *own,
        # After the CSV logger and the stateful callbacks: an epoch is backed up only once
        # its history row is written, with the callbacks' state of that epoch.
        resume_state.callback(backup_dir if run_dir.resuming else None, save_to, own),
        *extra_callbacks,
    ]
    if validation_ds is not None:  # First, so the history and CSV log see its scores.
        fit_callbacks.insert(
            0,
            scoring.validation_callback(
                # training.validation_steps bounds zoo's per-epoch scores as it bounds Keras's.
                validation_ds.take(recipe.training.validation_steps)
                if recipe.training.validation_steps
                else validation_ds,
                recipe.training.metrics,
                recipe.training.loss,
                bundle.info.class_names,
            ),
        )
    fit_callbacks.insert(0, timer)  # First: its epoch ends before validation scoring.
    start = time.perf_counter()
    # Bad input met inside tf.data mid-fit (a full disk cache, an unchecked image): one
    # ZooError naming the file, so the run ends failed with it (RunDir's exit).
    fitting = explained(bundle, recipe.data, run_dir.path, "training")
    with compat_multi_worker.patched(model, strategy), fitting:
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
    seconds = time.perf_counter() - start
    log.info("weights checksum: %s", _weights_digest(model))
    history_lists = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    speed = timer.record()
    if speed:
        log.info(
            "training throughput: %s examples/s over %d epoch(s)%s",
            f"{speed['examples_per_second']:,.1f}",
            speed["epochs_timed"],
            ", the first left out" if speed["first_epoch_excluded"] else "",
        )
    if run_dir.chief:  # Every epoch, also those done before a resume.
        history_lists = resume_state.read_history(history_csv) or history_lists
        resume_state.mark_fitted(
            model, backup_dir, len(history_lists.get("loss", [])), round(seconds, 2), speed
        )
    run_dir.set_status("fitted")
    return _Fitted(history_lists, seconds, done if run_dir.resuming else None, speed)


def _finished_fit(
    model: keras.Model, backup_dir: Path, strategy: Any
) -> tuple[int, float, dict[str, Any] | None] | None:
    """(epochs, seconds, throughput record) when the backup says fit already finished,
    its weights loaded."""
    marker = resume_state.fitted(backup_dir)
    with strategy.scope():
        if marker is not None:
            resume_state.load_fitted(model, backup_dir)
            speed = marker.get("throughput")
            return (
                int(marker.get("epochs", 0)),
                float(marker.get("seconds", 0.0)),
                speed if isinstance(speed, dict) and "examples_per_second" in speed else None,
            )
        stopped = resume_state.finish_stopped(model, backup_dir)
    return None if stopped is None else (stopped, 0.0, None)


def _callbacks(recipe: Recipe, run_dir: RunDir, earlier: dict[str, list[float]]) -> list[Any]:
    """The recipe's callbacks writing into the run folder; `earlier` is the history of the
    epochs a resumed run already did (empty for a new run). Every monitored name and
    direction comes from the one resolver (zoo.config.monitors)."""
    import keras

    cb = recipe.training.callbacks
    monitors = resolve_monitors(recipe)
    checkpoint = monitors["checkpoint"]
    checkpoints = run_dir.file(layout.CHECKPOINTS)
    checkpoints.mkdir(exist_ok=True)
    callbacks: list[Any] = [
        learning_rate_logger(),  # Before the CSV logger: history.csv gets `learning_rate`.
        keras.callbacks.CSVLogger(str(run_dir.file(layout.HISTORY)), append=bool(earlier)),
        keras.callbacks.ModelCheckpoint(
            str(checkpoints / layout.BEST_CHECKPOINT),
            monitor=checkpoint.name,
            mode=checkpoint.mode,
            save_best_only=True,
            initial_value_threshold=resume_state.best_so_far(
                earlier, checkpoint.name, checkpoint.mode
            ),
        ),
    ]
    sections = {
        "early_stopping": (cb.early_stopping, keras.callbacks.EarlyStopping),
        "reduce_lr_on_plateau": (cb.reduce_lr_on_plateau, keras.callbacks.ReduceLROnPlateau),
    }
    for key, (section, make) in sections.items():
        if section is not None:
            options = section.model_dump()
            options.update(monitor=monitors[key].name, mode=monitors[key].mode)
            callbacks.append(make(**options))
    if cb.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir.file(layout.TENSORBOARD))))
    callbacks += tracking.callbacks(recipe, run_dir)  # tracking: TensorBoard, MLflow.
    return callbacks


def _weights_digest(model: keras.Model) -> str:
    """A short checksum of the trained weights: equal on every worker of a cluster."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.numpy().tobytes())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------- step 3: evaluate
def _evaluate(
    recipe: Recipe, model: keras.Model, bundle: DataBundle, limits: Limits
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(scores per split, classification report per split) on the raw-input model."""
    eval_metrics = recipe.evaluation.metrics
    if eval_metrics is None:
        eval_metrics = recipe.training.metrics
    metrics: dict[str, Any] = {}
    reports: dict[str, Any] = {}
    for split in limits.splits(recipe):
        dataset = bundle.split(split)
        if dataset is None:
            raise ZooError(f"The {split} split is scored, but data.splits gives no {split} split.")
        if limits.batches is not None:
            dataset = dataset.take(limits.batches)
        with explained(bundle, recipe.data, None, f"the evaluation of the {split} split"):
            labels, probs = scoring.collect(scoring.predictor(model), dataset)
        metrics[split], split_report = scoring.score(
            labels,
            probs,
            loss=recipe.training.loss,
            metrics=eval_metrics,
            class_names=bundle.info.class_names,
        )
        if split_report is not None:
            reports[split] = split_report
    return metrics, reports


# ---------------------------------------------------------------------- step 4: export
def _export(
    recipe: Recipe, run_dir: RunDir, model: keras.Model, bundle: DataBundle, limits: Limits
) -> dict[str, Any]:
    """Write the recipe's artifacts and check each in a fresh process. A failed check is
    a ZooError: the run is then marked failed, with no metrics.json. A search trial
    writes only model.keras, unchecked (the search exports and checks the best trial)."""
    from zoo.exporting import pipeline

    items = pipeline.plan(recipe.export) if limits.export else [("keras", None)]
    _, checks = pipeline.export_and_check(
        model,
        bundle,
        items,
        run_dir.file,
        split=recipe.evaluation.splits[0],
        max_accuracy_drop=recipe.export.max_accuracy_drop(),
        # Followers' exports are scratch: nothing to check.
        check=run_dir.chief and limits.verify_exports,
    )
    failed = {kind: c for kind, c in checks.items() if not c["ok"]}
    if failed:
        raise ZooError(
            f"Export check failed: {pipeline.describe_failures(failed)}, reloaded in a fresh "
            f"process. The run in {run_dir.path} is marked failed (status.json) and has no "
            "metrics.json; its trained weights are kept, so running the same command again "
            "retries evaluation and export without training."
        )
    return checks


# ---------------------------------------------------------------------- step 5: finish
def _finish(
    run_dir: RunDir,
    recipe: Recipe,
    metrics: dict[str, Any],
    reports: dict[str, Any],
    history: dict[str, list[float]],
    info: Any,
    limits: Limits,
) -> None:
    """Reports, model card, then metrics.json last (RunDir.finish)."""
    for split, split_report in reports.items() if limits.reports else ():
        run_dir.file(layout.confusion_matrix(split))
        with writing(run_dir.out):
            report.write_split_report(run_dir.out, split, split_report, recipe.name)
    if history and limits.reports:
        path = run_dir.file(layout.CURVES)
        with writing(run_dir.out):
            report.plot_history(history, path, f"{recipe.name}: training")
    run_dir.file(layout.CARD)
    with writing(run_dir.out):
        card.write(run_dir.out, recipe, metrics, info, versions=versions())
    run_dir.finish(metrics)
