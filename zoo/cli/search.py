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
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

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
    from zoo import limits
    from zoo.config.loading import load_recipe
    from zoo.errors import ZooError

    recipe = load_recipe(args.recipe, args.overrides)
    search = recipe.search
    if search is None:
        raise ZooError(
            f"{args.recipe} has no search: section; add one naming the fields to vary, e.g. "
            "search: {parameters: {training.optimizer.learning_rate: {loguniform: [1e-4, 1e-2]}}}"
        )
    if args.workers < 1:
        raise ZooError(f"--workers {args.workers}: give at least 1")
    limits.check_workers(args.workers)
    from zoo.search import results, runner, study

    study_dir = Path(args.output_dir or Path("runs") / f"{recipe.name}-search")
    storage_url = args.storage or study.default_storage(study_dir)
    if args.storage:
        storage = study.open_storage(storage_url)  # Unreachable: exit 2 before any folder.
    study_dir.mkdir(parents=True, exist_ok=True)
    if not args.storage:
        storage = study.open_storage(storage_url)
    base = recipe.model_dump(mode="json", exclude={"search"})
    name = f"{recipe.name}-search"
    if args.worker_only:
        runner.worker(search, base, study_dir, storage_url, name, recipe.seed)
        return 0
    the_study = study.load(search, name, storage, recipe.seed)
    retried = study.recover_stale(the_study)
    if retried:
        print(f"trials {retried} were interrupted: marked failed, their parameters queued again")
    if args.workers == 1:
        runner.worker(search, base, study_dir, storage_url, name, recipe.seed)
    else:
        command = [
            sys.executable,
            "-m",
            "zoo.cli.search",
            args.recipe,
            "--worker-only",
            "--storage",
            storage_url,
            "--output-dir",
            str(study_dir),
        ]
        for item in args.overrides:
            command += ["--set", item]
        procs = [subprocess.Popen(command) for _ in range(args.workers)]
        codes = [p.wait() for p in procs]
        if any(codes):
            print(f"warning: worker exit codes {codes}", file=sys.stderr)
    table = results.rows(the_study, search)
    results.write_table(table, search, study_dir)
    results.plot(the_study, search, table, study_dir)
    best = results.write_best(the_study, search, base, study_dir)
    states: dict[str, int] = {}
    for row in table:
        states[row["state"]] = states.get(row["state"], 0) + 1
    print("trials: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    if best:
        print(
            f"best trial {best['number']}: {search.objective.metric}={best['value']:.4f} "
            f"{best['params']}"
        )
    print(f"study folder: {study_dir} (trials.md, best.yaml)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
