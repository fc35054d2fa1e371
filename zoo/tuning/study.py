"""The Optuna study behind a search: storage, sampler, pruner, stale trials.

Optuna is imported here only (lazily, from `zoo search`); without it the user gets one
ZooError naming the extra. The study is named after the recipe and lives in the storage
(`sqlite:///<study folder>/study.db` by default, or any database URL Optuna accepts), so a
rerun of the same command, another worker process or another machine all share it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from zoo.config.search_space import Search, direction
from zoo.errors import ZooError
from zoo.runs.lock import alive

HOST = socket.gethostname()

# Everything a study writes into its folder (the folder's manifest lists these, so a rerun
# replaces only them, and a user's own best.yaml or trials.md is never overwritten).
DATABASE = "study.db"
TRIALS = "trials"
TABLE_MARKDOWN = "trials.md"
TABLE_CSV = "trials.csv"
BEST = "best.yaml"
ASK_LOCK = ".ask.lock"
PLOTS = ("history.png", "importance.png")
STUDY_FILES = (DATABASE, TRIALS, TABLE_MARKDOWN, TABLE_CSV, BEST, ASK_LOCK, *PLOTS)


def claim_folder(study_dir: Path) -> None:
    """Make `study_dir` a zoo study folder, or refuse (exit 2) naming the files in it zoo
    did not write; then enter every file a study writes in its manifest."""
    from zoo.runs.manifest import claim, register

    claim(study_dir, "study", fix="choose a new or empty folder for --output-dir")
    study_dir.mkdir(parents=True, exist_ok=True)
    for name in STUDY_FILES:
        register(study_dir, name, kind="study")


def optuna() -> Any:
    """The optuna module, or a ZooError naming the extra to install."""
    try:
        import optuna as module
    except ImportError as exc:
        raise ZooError("zoo search needs Optuna: pip install 'keras-recipe-zoo[search]'") from exc
    module.logging.set_verbosity(module.logging.WARNING)
    return module


def default_storage(study_dir: Path) -> str:
    return f"sqlite:///{(study_dir / DATABASE).resolve()}"


def open_storage(url: str) -> Any:
    """The study store at `url`; unreachable or malformed → ZooError (exit 2) at once."""
    opt = optuna()
    try:
        storage = opt.storages.RDBStorage(
            url,
            engine_kwargs={"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {},
        )
        storage.get_all_studies()  # Touch the database now, not after the first trial.
    except Exception as exc:  # SQLAlchemy/driver errors have many types.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ZooError(
            f"--storage {url}: cannot open the study database ({first[:300]}). Check the "
            "URL, that the server is up and reachable, and that its driver is installed "
            "(e.g. pip install psycopg2-binary for postgresql://, pymysql for mysql+pymysql://)."
        ) from exc
    return storage


def grid_size(search: Search) -> int | None:
    """How many points a grid search has (None for the other samplers)."""
    if search.sampler != "grid":
        return None
    size = 1
    for dist in search.parameters.values():
        size *= len(dist.points() or ())
    return size


def trial_budget(search: Search) -> int:
    """Trials the study runs: `trials`, or fewer when a grid has fewer points."""
    size = grid_size(search)
    return search.trials if size is None else min(search.trials, size)


def encode(dist: Any, value: Any) -> Any:
    """A choice as Optuna stores it: scalars as they are, lists and maps as JSON text
    (Optuna's categorical values must be scalars)."""
    import json

    scalar = all(isinstance(c, (str, int, float, bool)) or c is None for c in dist.choice or ())
    return value if dist.choice is None or scalar else json.dumps(value, sort_keys=True)


def _sampler(search: Search, seed: int) -> Any:
    opt = optuna()
    if search.sampler == "grid":
        grid = {p: [encode(d, v) for v in d.points() or ()] for p, d in search.parameters.items()}

        class Grid(opt.samplers.GridSampler):  # type: ignore[misc, name-defined]
            """Optuna's grid sampler stops the study once every point has run, which
            only works inside `study.optimize`; zoo's workers ask and tell, and stop by
            `trial_budget` instead."""

            def after_trial(self, *_args: Any, **_kwargs: Any) -> None:
                return None

        return Grid(grid, seed=seed)
    if search.sampler == "random":
        return opt.samplers.RandomSampler(seed=seed)
    return opt.samplers.TPESampler(seed=seed, n_startup_trials=min(5, search.trials))


def _pruner(search: Search) -> Any:
    opt = optuna()
    if search.pruner == "median":
        return opt.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if search.pruner == "hyperband":
        return opt.pruners.HyperbandPruner()
    return opt.pruners.NopPruner()


def load(search: Search, name: str, storage: Any, seed: int) -> Any:
    """The study `name` in `storage` (created on first use) with the section's sampler
    and pruner; each process gets a sampler seeded from `seed` and its pid."""
    opt = optuna()
    sampler_seed = seed + os.getpid() % 10_000
    study = opt.create_study(
        study_name=name,
        storage=storage,
        direction=direction(search.objective),
        sampler=_sampler(search, sampler_seed),
        pruner=_pruner(search),
        load_if_exists=True,
    )
    _same_space(study, search)
    return study


SPACE_ATTR = "zoo_search_space"


def _same_space(study: Any, search: Search) -> None:
    """A study keeps the `search:` section it was made with: Optuna cannot mix trials of
    two spaces (it fails each new trial with "dynamic value space"), so a changed section
    is refused at once, naming what changed."""
    import json

    space = json.dumps(search.model_dump(mode="json")["parameters"], sort_keys=True)
    stored = study.user_attrs.get(SPACE_ATTR)
    if stored is None:
        if not study.get_trials(deepcopy=False):
            study.set_user_attr(SPACE_ATTR, space)
        return
    if stored != space:
        old, new = json.loads(stored), json.loads(space)
        changed = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
        raise ZooError(
            f"The study {study.study_name!r} was made with another search: section "
            f"(changed: {', '.join(changed)}); its trials cannot be mixed with the new "
            "space. Use a new --output-dir (or --storage) for the new space, or delete the "
            "old study's folder to start afresh."
        )


def recover_stale(study: Any) -> list[int]:
    """RUNNING trials whose process on this machine is dead: mark each FAIL and enqueue
    its parameters again (once). A trial another machine left running stays RUNNING
    until that machine's `zoo search` reruns (its host name and pid are recorded)."""
    opt = optuna()
    running = opt.trial.TrialState.RUNNING
    retried = []
    for trial in study.get_trials(deepcopy=False, states=(running,)):
        attrs = trial.user_attrs
        pid = int(attrs.get("pid", 0))
        if attrs.get("host") != HOST or pid <= 0 or alive(pid):
            continue
        study._storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
        study._storage.set_trial_state_values(trial._trial_id, opt.trial.TrialState.FAIL)
        study.enqueue_trial(
            trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False
        )
        retried.append(trial.number)
    return retried


def counted(study: Any) -> int:
    """Trials that count toward `trials`: complete, pruned, failed by an error (not by an
    interrupted process), and those running now."""
    opt = optuna()
    states = opt.trial.TrialState
    kept = (states.COMPLETE, states.PRUNED, states.RUNNING)

    def counts(t: Any) -> bool:
        return t.state in kept or (t.state == states.FAIL and not t.user_attrs.get("interrupted"))

    return sum(1 for t in study.get_trials(deepcopy=False) if counts(t))
