"""`zoo search RECIPE [--set K=V] [--workers N] [--storage URL] [--output-dir DIR]`

Runs the recipe's `search:` section as an Optuna study. The study folder (default
`runs/<recipe>-search/`) holds `study.db` (the default SQLite store), one ordinary run
folder per trial under `trials/`, and the results: trials.csv, trials.md, history.png,
importance.png and best.yaml (`zoo train best.yaml` trains the best trial again).

Running the same command again continues the study: finished and pruned trials are kept;
a trial whose process died is marked failed and its parameters are tried once more.
`--workers N` runs N trial processes here against the same store; `--storage URL` (e.g.
postgresql://user:pw@host/db) lets processes on several machines share one study.
Exit codes: 0 done, 2 bad input (recipe, search section, unreachable storage), 1 a bug.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from zoo.cli.common import add_overrides


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo search",
        description="Search the recipe fields its `search:` section names (Optuna study).",
        epilog="Example: zoo search my_search.yaml --workers 2",
    )
    p.add_argument("recipe", help="a recipe YAML file (or built-in name) with a search: section")
    add_overrides(
        p,
        "override a recipe field, as for zoo train (repeatable)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="trial processes on this machine (default 1)",
    )
    p.add_argument(
        "--storage",
        metavar="URL",
        help="study database URL (default sqlite:///<study folder>/study.db)",
    )
    p.add_argument(
        "--output-dir", metavar="DIR", help="study folder (default runs/<recipe>-search)"
    )
    p.add_argument("--worker-only", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()
    return guarded(lambda: _search(args))


def _search(args: argparse.Namespace) -> int:
    from zoo.tuning.describe import params
    from zoo.usecases.search import search

    outcome = search(
        args.recipe,
        overrides=args.overrides,
        workers=args.workers,
        output_dir=args.output_dir,
        storage=args.storage,
        worker_only=args.worker_only,
    )
    if outcome is None:
        return 0
    if outcome.retried:
        print(
            f"trials {outcome.retried} were interrupted: marked failed, their parameters "
            "queued again"
        )
    print("trials: " + ", ".join(f"{n} {s}" for s, n in outcome.states.items()))
    if outcome.best:
        best = outcome.best
        print(
            f"best trial {best['number']}: {outcome.objective}={best['value']:.4f}; "
            + params(best["params"])
        )
    for kind, check in outcome.exports.items():
        state = "verified in a fresh process" if check.get("ok") else "FAILED its check"
        print(f"best trial export {kind}: {check.get('artifact')} {state}")
    print(f"study folder: {outcome.study_dir} (trials.md, best.yaml)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
