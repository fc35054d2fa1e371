"""`zoo evaluate RUN_DIR_OR_MODEL [--recipe R] [--split test] [--output-dir DIR]`

Argument parsing and printing only: what the command does, and its rules, is
zoo/usecases/evaluate.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from zoo.cli.common import add_overrides
from zoo.usecases.evaluate import SPLITS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo evaluate",
        description="Re-evaluate a saved model on a split and write the same report.",
        epilog="Example: zoo evaluate runs/mnist_cnn-20260101-120000 --split test",
    )
    p.add_argument(
        "model",
        help="run directory, model .keras file, SavedModel directory, or a preset (folder, "
        "file://, hf://ORG/NAME, kaggle://OWNER/MODEL/keras/VARIANT)",
    )
    p.add_argument("--recipe", help="recipe YAML (default: recipe.yaml in the run directory)")
    add_overrides(
        p,
        "override a field of the recipe (e.g. data.path=my.npz for a preset's data)",
    )
    p.add_argument("--split", default="test", choices=SPLITS, help="split to score")
    p.add_argument(
        "--output-dir",
        metavar="DIR",
        help="new or empty folder for the report (default: RUN_DIR/evaluation-<split> for a "
        "run, ./evaluation-<preset>-<split> in the current folder for a preset); never the "
        "run folder itself",
    )
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="evaluate a run that has not finished (no metrics.json); it stays resumable",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        from zoo import api

        result = api.evaluate(
            args.model,
            recipe=args.recipe,
            split=args.split,
            output_dir=args.output_dir,
            allow_unfinished=args.allow_unfinished,
            overrides=args.overrides,
        )
        scores = result[args.split]
        print(f"{args.split}: " + ", ".join(f"{k}={v:.4f}" for k, v in scores.items()))
        if "preset" in result:
            diff = result["preset"]["difference"]
            print(
                "difference from the preset's metrics.json: "
                + (", ".join(f"{k}={v:+.4f}" for k, v in diff.items()) or "(no shared metric)")
            )
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
