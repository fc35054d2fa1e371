"""`zoo evaluate RUN_DIR_OR_MODEL [--recipe R] [--split test] [--output-dir DIR]`

Re-scores a saved model (a run directory, `.keras` file or SavedModel) on any split of
the recipe's data with the same code the trainer uses, so on a finished run it gives
metrics.json's figures again. Writes `metrics.json` and the confusion-matrix PNG into
`RUN_DIR/evaluation-<split>/` (or --output-dir).
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

SPLITS = ("train", "validation", "test")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo evaluate",
        description="Re-evaluate a saved model on a split and write the same report.",
        epilog="Example: zoo evaluate runs/mnist_cnn-20260101-120000 --split test",
    )
    p.add_argument("model", help="run directory, model .keras file or SavedModel directory")
    p.add_argument("--recipe", help="recipe YAML (default: recipe.yaml in the run directory)")
    p.add_argument("--split", default="test", choices=SPLITS, help="split to score")
    p.add_argument("--output-dir", metavar="DIR", help="default: RUN_DIR/evaluation-<split>")
    return p


def evaluate(
    model: str | Path,
    *,
    recipe: str | Path | None = None,
    split: str = "test",
    output_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Score `model` on `split`; returns (and writes) `{split: scores, "report": {...}}`."""
    from zoo.config.loading import load_recipe
    from zoo.data import load as load_data
    from zoo.errors import ZooError
    from zoo.evaluation import report, scoring
    from zoo.export import artifacts

    artifact, _ = artifacts.locate(model)  # Cheap checks first: no TensorFlow yet.
    run_dir = artifact.parent if (artifact.parent / "recipe.yaml").is_file() else None
    if recipe is None and run_dir is None:
        raise ZooError(f"{artifact} is not in a run directory; pass --recipe RECIPE.yaml.")
    loaded = artifacts.load(artifact)
    config = load_recipe(recipe if recipe is not None else run_dir / "recipe.yaml")
    bundle = load_data(config.data, batch_size=config.training.batch_size, seed=config.seed)
    dataset = bundle.split(split)
    if dataset is None:
        raise ZooError(f"The recipe's data.splits gives no {split!r} split.")
    labels, probs = scoring.collect(loaded.predict, dataset)
    metrics = config.evaluation.metrics
    scores, split_report = scoring.score(
        labels,
        probs,
        loss=config.training.loss,
        metrics=config.training.metrics if metrics is None else metrics,
        class_names=bundle.info.class_names,
    )
    result: dict[str, Any] = {split: scores, "model": str(loaded.path)}
    out = Path(output_dir) if output_dir else (run_dir or Path(".")) / f"evaluation-{split}"
    out.mkdir(parents=True, exist_ok=True)
    if split_report is not None:
        result["report"] = {split: split_report}
        report.write_split_report(out, split, split_report, f"{config.name} ({loaded.kind})")
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    log.info("report: %s", out)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        result = evaluate(
            args.model, recipe=args.recipe, split=args.split, output_dir=args.output_dir
        )
        scores = result[args.split]
        print(f"{args.split}: " + ", ".join(f"{k}={v:.4f}" for k, v in scores.items()))
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
