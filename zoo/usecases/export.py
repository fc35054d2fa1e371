"""`zoo export RUN_DIR --format saved_model|keras|onnx|litert [--quantize Q,...]`: re-export.

Starts from the run's `model.keras` (loaded in safe mode) and its resolved recipe, writes
the artifact with the same code the trainer uses, checks it in a fresh process against
the Keras model on held-out inputs, and records that check in its own file,
`export-<kind>.json` (kind: `onnx`, `litert_int8`...). `tflite` is the deprecated name of
`litert --quantize none`. It writes nothing else: never metrics.json, never a file of the
run folder that zoo did not write. It holds the run's lock while it writes, and refuses
an unfinished run unless --allow-unfinished (the run then stays resumable). A failed
check exits 2 with the difference found.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.runs import layout

if TYPE_CHECKING:
    from zoo.data.bundle import DataBundle

log = logging.getLogger("zoo")


def reexport(
    run_dir: str | Path,
    fmt: str,
    *,
    quantize: str | None = None,
    allow_unfinished: bool = False,
) -> dict[str, Any]:
    """Write `fmt` into `run_dir`; returns {kind: fresh-process check}, each also recorded
    in `export-<kind>.json`. A failed check is a ZooError (after the record is written)."""
    from zoo.config.loading import load_recipe
    from zoo.errors import ZooError
    from zoo.exporting import pipeline
    from zoo.fs import atomic_write_text, writing
    from zoo.runs.lock import RunLock
    from zoo.runs.manifest import read_manifest, register
    from zoo.usecases.evaluate import refuse_unfinished

    items = _items(fmt, quantize)
    pipeline.require(items)  # A missing extra, before reading anything.
    run = Path(run_dir)
    if not run.is_dir():
        raise ZooError(f"{run} is not a folder; give a run directory (runs/<recipe>-<time>).")
    _check_writable_run(run)
    if not (run / layout.RECIPE).is_file():
        raise ZooError(f"{run} has no recipe.yaml; is it a run directory?")
    if not allow_unfinished:
        refuse_unfinished(run, "export")
    if not (run / layout.MODEL).is_file():
        raise ZooError(
            f"{run} has no model.keras; re-exporting starts from it (set export.keras: true "
            "in the recipe, or train the run to the end)."
        )
    names = [(pipeline.target(i), layout.export_record(pipeline.kind(i))) for i in items]
    manifest = read_manifest(run)
    entries = set(manifest["entries"]) if manifest else set()
    for name in (n for pair in names for n in pair):
        if (run / name).exists() and name not in entries:
            raise ZooError(
                f"{run / name} exists and zoo did not write it; zoo never replaces files it "
                "did not write. Move it away, or re-export from a copy of the run."
            )
    recipe = load_recipe(run / layout.RECIPE)
    bundle = _load_data(recipe, run, needs_training_sample=("litert", "int8") in items)
    lock = RunLock(run, instead="export a copy of the run folder")
    lock.acquire()  # A trainer (or another export) at work on this run: refused.
    try:
        with writing(run):
            for name in (n for pair in names for n in pair):
                register(run, name)
        checks = _write_and_check(run, recipe, bundle, items)
        for item, (_, record) in zip(items, names, strict=True):
            kind = pipeline.kind(item)
            atomic_write_text(run / record, json.dumps({kind: checks[kind]}, indent=2) + "\n")
    finally:
        lock.release()
    failed = {kind: c for kind, c in checks.items() if not c["ok"]}
    for kind, c in checks.items():
        log.info("%s: %s (%s)", kind, run / c["artifact"], "ok" if c["ok"] else "FAILED")
    if failed:
        raise ZooError(
            f"Export check failed: {pipeline.describe_failures(failed)}, reloaded in a fresh "
            f"process; see the export-<kind>.json records in {run}."
        )
    return checks


def _items(fmt: str, quantize: str | None) -> list[tuple[str, str | None]]:
    """(format, variant) pairs for --format/--quantize; bad names are ZooErrors."""
    from zoo.errors import ZooError, did_you_mean
    from zoo.exporting.formats import get
    from zoo.exporting.formats.litert import QUANTIZATIONS

    name = get(fmt).name
    if name != "litert":
        if quantize is not None:
            raise ZooError(f"--quantize applies to --format litert only, not {fmt}.")
        return [(name, None)]
    chosen = [q.strip() for q in ("none" if quantize is None else quantize).split(",")]
    chosen = [q for q in chosen if q]
    if not chosen:
        raise ZooError(
            f"--quantize {quantize!r} names no quantisation; give one or more of "
            f"{', '.join(QUANTIZATIONS)}, separated by commas (or leave --quantize out for "
            "none)."
        )
    for q in chosen:
        if q not in QUANTIZATIONS:
            raise ZooError(
                f"Unknown quantisation {q!r} in --quantize.{did_you_mean(q, QUANTIZATIONS)} "
                f"Choose from {', '.join(QUANTIZATIONS)}."
            )
    if fmt == "tflite" and chosen != ["none"]:
        raise ZooError("--format tflite is LiteRT without quantisation; use --format litert.")
    return [("litert", q) for q in dict.fromkeys(chosen)]


def _load_data(recipe: Any, run: Path, *, needs_training_sample: bool) -> Any:
    """The recipe's data, with the run's saved vocabulary (never adapted again); unreadable
    data is a ZooError saying what needed it."""
    from zoo.data import load as load_data
    from zoo.data.preprocessing.text import saved_vocabulary
    from zoo.errors import ZooError

    try:
        return load_data(
            recipe.data,
            batch_size=recipe.training.batch_size,
            seed=recipe.seed,
            vocabulary=saved_vocabulary(run),
        )
    except ZooError as exc:
        if not needs_training_sample:
            raise
        raise ZooError(
            "LiteRT int8 quantisation needs a representative sample from the recipe's "
            f"training split, but the recipe's data cannot be read: {exc} Make the data "
            "readable, or choose --quantize dynamic_int8 (no sample needed)."
        ) from None


def _write_and_check(
    run: Path, recipe: Any, bundle: DataBundle, items: list[Any]
) -> dict[str, Any]:
    from zoo.exporting import pipeline
    from zoo.exporting.artifacts import load_keras_model
    from zoo.fs import writing

    model = load_keras_model(run / layout.MODEL)
    split = recipe.evaluation.splits[0]
    _check_model_fits(run, model, bundle, split)
    return pipeline.export_and_check(
        model,
        bundle,
        items,
        lambda name: run / name,
        split=split,
        guard=writing,
        max_accuracy_drop=recipe.export.max_accuracy_drop(),
    )[1]


def _check_writable_run(run: Path) -> None:
    """Only a zoo run folder takes a re-export: a preset is immutable (its manifest.json
    lists every file's sha256, and a file added or replaced would break it), and a folder
    without zoo's record is not zoo's to write into."""
    from zoo.errors import ZooError
    from zoo.usecases.model_source import is_preset_address, run_of

    if is_preset_address(run):
        raise ZooError(
            f"{run} is a preset, and a preset is never changed after publishing (its "
            "manifest.json lists the sha256 of every file). Export from the run it was "
            "published from (manifest.json names it as source_run), then publish again."
        )
    if run_of(run) is None:
        raise ZooError(
            f"{run} is not a zoo run folder (it has no .zoo-run.json, zoo's record of the "
            "files it wrote), so zoo writes nothing into it. Give the folder `zoo train` "
            "wrote."
        )


def _check_model_fits(run: Path, model: Any, bundle: Any, split: str) -> None:
    """The run's model.keras must take the recipe's data and predict the run's classes
    (classes.json): else the export would be checked against, and stand for, another
    model. Both shapes, or both class counts, are named."""
    from zoo.errors import ZooError
    from zoo.evaluation.scoring import predictor
    from zoo.exporting.artifacts import Loaded
    from zoo.usecases.evaluate import check_fits
    from zoo.usecases.model_source import run_class_names

    inp = model.inputs[0]
    loaded = Loaded(
        run / layout.MODEL,
        "keras",
        predictor(model),
        inp.name,
        str(inp.dtype),
        tuple(inp.shape[1:]),
    )
    fix = (
        "The model.keras in the run is not the one its recipe trained; train the run again "
        "(or restore its model.keras)."
    )
    dataset = bundle.split(split)
    if dataset is not None:
        check_fits(loaded, dataset, bundle.info, loaded.path, str(run / layout.RECIPE), fix)
    names = run_class_names(run)
    outputs = int(model.outputs[0].shape[-1])
    if names and outputs != len(names) and not (outputs == 1 and len(names) == 2):
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise ZooError(
            f"{loaded.path} predicts {outputs} classes, but the run's classes.json names "
            f"{len(names)} ({shown}). {fix}"
        )
