"""`zoo export RUN_DIR --format saved_model|keras|tflite`: re-export a run.

Starts from the run's `model.keras` (loaded in safe mode) and its resolved recipe, writes
the artifact with the same code the trainer uses, checks it in a fresh process against
the Keras model on held-out inputs, and records that check in its own file,
`export-<format>.json`. It writes nothing else: never metrics.json, never a file of the
run folder that zoo did not write. It holds the run's lock while it writes, and refuses
an unfinished run unless --allow-unfinished (the run then stays resumable). A failed
check exits 2 with the difference found.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("zoo")

FORMATS = {"saved_model": "saved_model", "keras": "model.keras", "tflite": "model.tflite"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo export",
        description="Re-export a finished run's model.keras in another format.",
        epilog="Example: zoo export runs/mnist_cnn-20260101-120000 --format tflite",
    )
    p.add_argument("run_dir", help="a run directory holding model.keras and recipe.yaml")
    p.add_argument("--format", required=True, choices=list(FORMATS), help="artifact to write")
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="export from a run that has not finished (no metrics.json); it stays resumable",
    )
    return p


def reexport(run_dir: str | Path, fmt: str, *, allow_unfinished: bool = False) -> dict[str, Any]:
    """Write `fmt` into `run_dir`; returns the fresh-process check, also recorded in
    `export-<fmt>.json`. A failed check is a ZooError (after the record is written)."""
    from zoo.cli.evaluate import refuse_unfinished
    from zoo.config.loading import load_recipe
    from zoo.errors import ZooError
    from zoo.training.run_dir import (
        RunLock,
        atomic_write_text,
        read_manifest,
        register,
        writing,
    )

    run = Path(run_dir)
    if not run.is_dir():
        raise ZooError(f"{run} is not a folder; give a run directory (runs/<recipe>-<time>).")
    for needed in ("recipe.yaml",):
        if not (run / needed).is_file():
            raise ZooError(f"{run} has no {needed}; is it a run directory?")
    if not allow_unfinished:
        refuse_unfinished(run, "export")
    if not (run / "model.keras").is_file():
        raise ZooError(
            f"{run} has no model.keras; re-exporting starts from it (set export.keras: true "
            "in the recipe, or train the run to the end)."
        )
    target, record = FORMATS[fmt], f"export-{fmt}.json"
    manifest = read_manifest(run)
    entries = set(manifest["entries"]) if manifest else set()
    for name in (target, record):
        if (run / name).exists() and name not in entries:
            raise ZooError(
                f"{run / name} exists and zoo did not write it; zoo never replaces files it "
                "did not write. Move it away, or re-export from a copy of the run."
            )
    recipe = load_recipe(run / "recipe.yaml")
    lock = RunLock(run)
    lock.acquire()  # A trainer (or another export) at work on this run: refused.
    try:
        if manifest is not None:
            with writing(run):
                register(run, target)
                register(run, record)
        check = _write_and_check(run, recipe, fmt, target)
        atomic_write_text(run / record, json.dumps({fmt: check}, indent=2) + "\n")
    finally:
        lock.release()
    log.info("%s: %s (max |diff| %.2e)", fmt, run / target, check["max_abs_difference"])
    if not check["ok"]:
        raise ZooError(
            f"Export check failed: {run / target} reloaded in a fresh process differs from "
            f"model.keras by {check['max_abs_difference']:.2e} (tolerance "
            f"{check['tolerance']:.0e}); see {run / record}."
        )
    return check


def _write_and_check(run: Path, recipe: Any, fmt: str, target: str) -> dict[str, Any]:
    import numpy as np

    from zoo.data import load as load_data
    from zoo.data.preprocessing.text import saved_vocabulary
    from zoo.evaluation import scoring
    from zoo.export import verify
    from zoo.export import writers as export
    from zoo.export.artifacts import load_keras_model
    from zoo.training.run_dir import writing

    bundle = load_data(
        recipe.data,
        batch_size=recipe.training.batch_size,
        seed=recipe.seed,
        vocabulary=saved_vocabulary(run),  # The run's own: never adapt again.
    )
    model = load_keras_model(run / "model.keras")
    writers = {
        "saved_model": export.save_saved_model,
        "keras": lambda m, p, _info: export.save_keras(m, p),
        "tflite": export.save_tflite,
    }
    with writing(run / target):
        path = writers[fmt](model, run / target, bundle.info)
    held_out = bundle.split(recipe.evaluation.splits[0]).take(2)
    inputs = np.concatenate([x.numpy() for x, _ in held_out])[:64]
    return verify.check({fmt: path}, inputs, scoring.predictor(model)(inputs))[fmt]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        check = reexport(args.run_dir, args.format, allow_unfinished=args.allow_unfinished)
        print(f"{args.format}: " + ", ".join(f"{k}={v}" for k, v in check.items()))
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
