"""`zoo export RUN_DIR --format saved_model|keras|tflite`: re-export a run.

Starts from the run's `model.keras` (loaded in safe mode) and its resolved recipe, writes
the artifact with the same code the trainer uses, checks it in a fresh process against
the Keras model on held-out inputs, and records that check in metrics.json's `export`.
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
    return p


def reexport(run_dir: str | Path, fmt: str) -> dict[str, Any]:
    """Write `fmt` into `run_dir`; returns the fresh-process check recorded in metrics.json."""
    from zoo.config.loading import load_recipe
    from zoo.data import load as load_data
    from zoo.errors import ZooError
    from zoo.evaluation import scoring
    from zoo.export import verify
    from zoo.export import writers as export
    from zoo.export.artifacts import load_keras_model

    run = Path(run_dir)
    for needed in ("model.keras", "recipe.yaml"):
        if not (run / needed).is_file():
            raise ZooError(f"{run} has no {needed}; re-exporting starts from a finished run.")
    recipe = load_recipe(run / "recipe.yaml")
    bundle = load_data(recipe.data, batch_size=recipe.training.batch_size, seed=recipe.seed)
    model = load_keras_model(run / "model.keras")
    writers = {
        "saved_model": export.save_saved_model,
        "keras": lambda m, p, _info: export.save_keras(m, p),
        "tflite": export.save_tflite,
    }
    path = writers[fmt](model, run / FORMATS[fmt], bundle.info)
    held_out = bundle.split(recipe.evaluation.splits[0]).take(2)
    import numpy as np

    inputs = np.concatenate([x.numpy() for x, _ in held_out])[:64]
    check = verify.check({fmt: path}, inputs, scoring.predictor(model)(inputs))[fmt]
    metrics_path = run / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics.setdefault("export", {})[fmt] = check
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    log.info("%s: %s (max |diff| %.2e)", fmt, path, check["max_abs_difference"])
    return check


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        check = reexport(args.run_dir, args.format)
        print(f"{args.format}: " + ", ".join(f"{k}={v}" for k, v in check.items()))
        return 0 if check["ok"] else 1

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
