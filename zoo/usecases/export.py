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
    lock = RunLock(run)
    lock.acquire()  # A trainer (or another export) at work on this run: refused.
    try:
        if manifest is not None:
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
    chosen = [q.strip() for q in (quantize or "none").split(",") if q.strip()]
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
    return pipeline.export_and_check(
        model,
        bundle,
        items,
        lambda name: run / name,
        split=recipe.evaluation.splits[0],
        guard=writing,
        max_accuracy_drop=recipe.export.max_accuracy_drop(),
    )[1]
