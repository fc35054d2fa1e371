"""`zoo train RECIPE [--set K=V] [--output-dir DIR] [--overwrite|--resume] [--dry-run] [--check]`

RECIPE is a built-in recipe's name (`zoo train mnist_cnn`, see `zoo list`) or a YAML path.
`python -m zoo.train RECIPE ...` is the same command.

`--check` runs the recipe end to end on one batch (data check, one training and one
evaluation step, export and reload in a temporary folder) and writes no run: run it
before a long run: the trainer itself with limits (zoo/training/limits.py).

A killed run continues from its last completed epoch when the same command is run again
with the same `--output-dir`, or with `--resume` (the newest unfinished run of the recipe).

Exit codes: 0 success, 2 bad input (recipe, data, arguments; one clear message, no
traceback), 1 a bug in zoo. Validation and --dry-run never import TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from zoo.cli.common import add_overrides


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo train",
        description="Train, evaluate and export the model a YAML recipe describes.",
        epilog="Example: zoo train mnist_cnn --set training.epochs=1",
    )
    p.add_argument(
        "recipe", help="a built-in recipe's name (see `zoo list`) or a recipe YAML file's path"
    )
    add_overrides(
        p,
        "override a recipe field, e.g. --set training.epochs=1 (repeatable; "
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
    p.add_argument(
        "--check",
        action="store_true",
        help="check the recipe end to end in seconds: data check, one training and one "
        "evaluation step on one batch, export and reload in a temporary folder; writes no "
        "run. Exit 0 if every stage passes, else 2 naming the first defect",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no per-epoch progress output")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()
    return guarded(lambda: _train(args))


def _train(args: argparse.Namespace) -> int:
    if args.dry_run:
        from zoo.config.loading import load_recipe, to_yaml
        from zoo.config.monitors import describe

        recipe = load_recipe(args.recipe, args.overrides)
        sys.stdout.write(to_yaml(recipe) + describe(recipe))
        return 0
    from zoo import api
    from zoo.logs import progress_verbosity

    if args.check:
        print("\n".join(api.check(args.recipe, overrides=args.overrides).lines()))
        return 0
    api.train(
        args.recipe,
        overrides=args.overrides,
        output_dir=args.output_dir,
        overwrite=args.overwrite,
        resume=args.resume,
        verbose=progress_verbosity(args.quiet),
    )
    # The trainer logged each split's scores and the run directory: nothing twice.
    return 0


if __name__ == "__main__":
    sys.exit(main())
