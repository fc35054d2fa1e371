"""`zoo search`'s use case: open (or resume) a study, run its trials in one or several
worker processes, then write the study's table, plots and best recipe.

Library code: the CLI parses arguments and prints the returned `SearchOutcome`.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo import limits
from zoo.config.loading import load_recipe
from zoo.errors import ZooError

log = logging.getLogger("zoo")


@dataclass(frozen=True)
class SearchOutcome:
    """A finished study: its folder, one row per trial, the best trial (or None) and
    how many interrupted trials were queued again."""

    study_dir: Path
    objective: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    retried: list[int] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)  # The best trial's, verified.

    @property
    def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.trials:
            counts[row["state"]] = counts.get(row["state"], 0) + 1
        return dict(sorted(counts.items()))


def search(
    recipe: str | Path,
    *,
    overrides: Sequence[str] = (),
    workers: int = 1,
    output_dir: str | Path | None = None,
    storage: str | None = None,
    worker_only: bool = False,
) -> SearchOutcome | None:
    """Run the recipe's `search:` study; None for a `worker_only` process."""
    config = load_recipe(recipe, overrides)
    space = config.search
    if space is None:
        raise ZooError(
            f"{recipe} has no search: section; add one naming the fields to vary, e.g. "
            "search: {parameters: {training.optimizer.learning_rate: {loguniform: [1e-4, 1e-2]}}}"
        )
    if workers < 1:
        raise ZooError(f"--workers {workers}: give at least 1")
    limits.check_workers(workers)
    from zoo.tuning import results, runner, study

    study_dir = Path(output_dir or Path("runs") / f"{config.name}-search")
    if study_dir.exists() and not study_dir.is_dir():
        raise ZooError(f"--output-dir {study_dir} is a file, not a folder; choose another path.")
    storage_url = storage or study.default_storage(study_dir)
    if storage:
        opened = study.open_storage(storage_url)  # Unreachable: exit 2 before any folder.
    if worker_only:  # Workers write into the folder their parent claimed.
        study_dir.mkdir(parents=True, exist_ok=True)
    else:
        study.claim_folder(study_dir)
    if not storage:
        opened = study.open_storage(storage_url)
    base = config.model_dump(mode="json", exclude={"search"})
    name = f"{config.name}-search"
    if worker_only:
        runner.worker(space, base, study_dir, storage_url, name, config.seed)
        return None
    from zoo.training import tracking

    with tracking.search_run(config, study_dir) as tracked:  # MLflow parent run, if any.
        the_study = study.load(space, name, opened, config.seed)
        retried = study.recover_stale(the_study)
        _run_workers(recipe, overrides, space, base, study_dir, storage_url, name, config, workers)
        table = results.rows(the_study, space)
        _refuse_all_failed(the_study)
        results.write_table(table, space, study_dir)
        results.plot(the_study, space, table, study_dir)
        best = results.write_best(the_study, space, base, study_dir)
        exports = export_best(best, config) if best else {}
        if tracked is not None:
            tracked(best, [study_dir / f for f in ("trials.md", "best.yaml", "history.png")])
    return SearchOutcome(
        study_dir, space.objective.metric, table, best, list(retried or []), exports
    )


def _run_workers(
    recipe: str | Path,
    overrides: Sequence[str],
    space: Any,
    base: dict[str, Any],
    study_dir: Path,
    storage_url: str,
    name: str,
    config: Any,
    workers: int,
) -> None:
    """The trials: in this process, or in `workers` worker processes."""
    from zoo.tuning import runner

    if workers == 1:
        runner.worker(space, base, study_dir, storage_url, name, config.seed)
        return
    command = [
        sys.executable,
        "-m",
        "zoo.cli.search",
        str(recipe),
        "--worker-only",
        "--storage",
        storage_url,
        "--output-dir",
        str(study_dir),
    ]
    for item in overrides:
        command += ["--set", item]
    procs = [subprocess.Popen(command, preexec_fn=_die_with_parent) for _ in range(workers)]
    codes = [p.wait() for p in procs]
    if any(codes):
        log.warning("worker exit codes %s", codes)


def export_best(best: dict[str, Any], config: Any) -> dict[str, Any]:
    """The recipe's exports of the best trial, each checked in a fresh process. Trials
    write only model.keras (search trials skip export), so this runs once per study."""
    from zoo.exporting import pipeline
    from zoo.usecases.export import reexport

    run = best.get("run_dir")
    if not run or not Path(run).is_dir():
        return {}
    checks: dict[str, Any] = {}
    formats = dict.fromkeys(fmt for fmt, _ in pipeline.plan(config.export))
    for fmt in formats:
        quantize = None
        if fmt == "litert":
            quantize = ",".join(q for q in config.export.litert_quantizations())
        log.info("exporting the best trial as %s and checking it in a fresh process …", fmt)
        checks.update(reexport(run, fmt, quantize=quantize))
    return checks


def _refuse_all_failed(study: Any) -> None:
    """A study whose every trial failed has no result: exit 2 with the first failure's
    message (each trial's error is also in trials.md), never a promised best.yaml."""
    trials = study.get_trials(deepcopy=False)
    if not trials or any(t.state.name in ("COMPLETE", "PRUNED", "RUNNING") for t in trials):
        return
    first = next((t for t in trials if t.user_attrs.get("error")), None)
    reason = first.user_attrs["error"].rstrip(". ") if first is not None else "no trial finished"
    raise ZooError(
        f"Every trial of the search failed; the first (trial {first.number if first else '?'}) "
        f"with: {reason}. Fix the recipe or its search: section (`zoo train RECIPE --check` "
        "tries the recipe), then run the search again."
    )


def _die_with_parent() -> None:
    """In a worker process: receive SIGTERM when the parent `zoo search` dies, however it
    dies (Linux's PR_SET_PDEATHSIG); elsewhere the parent's own exit stops them."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
