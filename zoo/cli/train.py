"""`python -m zoo.train RECIPE [--set K=V] [--output-dir DIR] [--overwrite|--resume] [--dry-run]`

A killed run continues from its last completed epoch when the same command is run again
with the same `--output-dir`, or with `--resume` (the newest unfinished run of the recipe).

Exit codes: 0 success, 2 bad input (recipe, data, arguments; one clear message, no
traceback), 1 a bug in zoo. Validation and --dry-run never import TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m zoo.train",
        description="Train, evaluate and export the model a YAML recipe describes.",
        epilog="Example: python -m zoo.train recipes/mnist_cnn.yaml --set training.epochs=1",
    )
    p.add_argument("recipe", help="path to a recipe YAML file (see recipes/)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field, e.g. --set training.epochs=1 (repeatable; "
        "the value is read as YAML)",
    )
    p.add_argument(
        "--output-dir", metavar="DIR", help="run directory (default: runs/<recipe>-<timestamp>)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in an --output-dir that holds a zoo run: deletes that run's "
        "files (only those zoo wrote; a folder with other files is refused)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the newest unfinished run of this recipe under runs/ (or the one in "
        "--output-dir) from its last completed epoch; an unfinished --output-dir is resumed "
        "even without this flag",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and print the resolved recipe; train nothing",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no per-epoch progress output")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()
    return guarded(lambda: _train(args))


def _train(args: argparse.Namespace) -> int:
    from zoo.config.loading import load_recipe, to_yaml

    recipe = load_recipe(args.recipe, args.overrides)
    if args.dry_run:
        sys.stdout.write(to_yaml(recipe))
        return 0
    from zoo.training.trainer import run

    result = run(
        recipe,
        output_dir=args.output_dir,
        overwrite=args.overwrite,
        resume=args.resume,
        verbose=2 if args.quiet else "auto",
        source=args.recipe,
    )
    for split, scores in result.metrics.items():
        if split in ("training", "export", "report"):
            continue
        print(f"{split}: " + ", ".join(f"{k}={v:.4f}" for k, v in scores.items()))
    print(f"run directory: {result.run_dir}")
    return 0


class _CallableModule(types.ModuleType):
    """Importing this module rebinds `zoo.train`; keep `zoo.train(recipe)` working."""

    def __call__(self, *args, **kwargs):
        from zoo.training.api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    sys.exit(main())
