"""The one owner of a run folder: which folder, whether it may be used, and every write.

Why one object: deciding whether a folder may be written (new, resumable, finished,
someone else's), locking it against a second trainer, removing an old run on
`--overwrite`, and the order that makes `metrics.json` last are one policy. Spread over
the trainer, each rule was a special case; here they share one record of what zoo wrote.

The record is the manifest `.zoo-run.json`: the kind of folder ("run", "evaluation") and
every top-level file and folder zoo wrote there, entered *before* the write, so a kill
mid-write still leaves the file listed. A folder is zoo's only if it has a manifest.
- A new or empty folder is used. A non-empty folder without a manifest, or a zoo folder
  that also holds files its manifest does not list, is refused, with or without
  `--overwrite`, naming those files: zoo never deletes or replaces a file it did not write.
- `--overwrite` removes exactly the entries of the old manifest, so nothing of the old
  run stays beside the new one.
- `.zoo-lock` (pid, host, start time, command) is created with O_EXCL before anything
  else is written; a second trainer on the folder is refused naming the first. A lock
  whose process is gone (same host) is taken over with a log line.
- `status.json` says how far the run got (training, fitted, evaluated, exported,
  finished, failed + reason); `metrics.json` is written last and only on success.
- Writes are atomic (temporary name + rename) and an OSError (read-only, full disk, a
  file where a folder should be) becomes one `ZooError` naming the path.
- Multi-worker followers do the same work but write to a scratch folder that is deleted
  afterwards: they never touch the run folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from zoo.config.loading import path_fields, to_yaml
from zoo.config.schema import Recipe
from zoo.errors import ZooError
from zoo.fs import (
    OTHER_OUTPUT_DIR,
    atomic_write_json,
    atomic_write_text,
    require_utf8_path,
    write_error,
    writing,
)
from zoo.runs.layout import BACKUP, DEFAULT_RUNS_DIR, MANIFEST, METRICS, RECIPE, STATUS
from zoo.runs.lock import RunLock
from zoo.runs.manifest import check_foreign, is_our_temp, read_manifest, register
from zoo.runs.status import STAGES, RunStopped, is_finished, is_unfinished, latest_unfinished

log = logging.getLogger("zoo")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def recipe_key(recipe: Recipe, source: Path | None = None) -> dict[str, Any]:
    """The recipe as a comparable dict, with path fields made relative.

    Recipes resolve their paths against their own file, so a run's recipe.yaml holds
    absolute paths, which change when the checkout moves. Relative to the recipe's folder
    (else the working directory), a moved checkout gives the same key, while a recipe
    that reads other data (another folder, another file) still differs. A path under
    ZOO_DATA_DIR is written relative to that root, which may move on its own."""
    data = recipe.model_dump(mode="json")
    known = source is not None and source.is_file()
    anchor = source.resolve().parent if known else Path.cwd().resolve()
    data_root = os.environ.get("ZOO_DATA_DIR")
    for parent, key, value in path_fields(data):
        path = Path(value)
        if data_root and path.is_relative_to(Path(data_root).resolve()):
            parent[key] = "$ZOO_DATA_DIR/" + path.relative_to(Path(data_root).resolve()).as_posix()
        else:
            parent[key] = os.path.relpath(path, anchor)
    return data


def _check_same_recipe(folder: Path, recipe: Recipe, source: Path | None) -> None:
    manifest = read_manifest(folder) or {}
    stored = manifest.get("recipe_key")
    if stored is not None:
        same = stored == json.loads(json.dumps(recipe_key(recipe, source)))
    else:
        same = (folder / RECIPE).read_text() == to_yaml(recipe)
    if not same:
        raise ZooError(
            f"{folder} holds an unfinished run of a different recipe (its recipe.yaml is not "
            "this recipe with these --set overrides). Run the same command as before to "
            "resume it, or choose a new folder for --output-dir (--overwrite would delete "
            "that run's files, only those, and start afresh)."
        )


def _name_check(name: str, runs_dir: Path) -> Path:
    """`runs_dir/<name>` only when it stays inside `runs_dir`."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ZooError(
            f"Recipe name {name!r} cannot name a run folder: a name must match "
            "[A-Za-z0-9][A-Za-z0-9._-]{0,99} (no '/', '..' or leading '.'), so the run "
            f"stays inside {runs_dir}/. Rename it in the recipe's `name:` field."
        )
    return runs_dir


class RunDir:
    """The run's folder and every write into it. Use `RunDir.claim(...)` as a context
    manager: it decides, locks, and on exit releases (and cleans up what it must)."""

    def __init__(self, path: Path, *, chief: bool, resuming: bool, overwrite: bool):
        self.path = path  # The run's folder (a resume restores from its backup).
        self.chief = chief
        self.resuming = resuming
        self.overwrite = overwrite
        self.out = path  # Where this process writes: the run folder, or scratch.
        self._lock: RunLock | None = None
        self._created = False  # We made the folder (remove it if nothing was written).
        self._started = False
        self._key: dict[str, Any] | None = None

    # -------------------------------------------------------------- deciding
    @classmethod
    def claim(
        cls,
        recipe: Recipe,
        output_dir: str | Path | None,
        *,
        overwrite: bool = False,
        resume: bool = False,
        chief: bool = True,
        source: Path | None = None,
        runs_dir: Path | None = None,
    ) -> RunDir:
        """Decide the run's folder and lock it; nothing but the lock is written yet."""
        runs_dir = DEFAULT_RUNS_DIR if runs_dir is None else runs_dir
        if output_dir is not None:
            require_utf8_path(output_dir, "--output-dir")
        if resume and overwrite:
            raise ZooError(
                "--resume continues an unfinished run and --overwrite starts one afresh; "
                "pass one of them."
            )
        if output_dir is None:
            _name_check(recipe.name, runs_dir)
            if resume:
                found = latest_unfinished(runs_dir, recipe.name)
                if found is None:
                    raise ZooError(
                        f"--resume: no unfinished run of {recipe.name} under {runs_dir}/ "
                        "(an unfinished run has recipe.yaml but no metrics.json). Name one "
                        "with --output-dir DIR, or leave out --resume to start a new run."
                    )
                return cls._claim_path(recipe, found, False, True, chief, source)
            return cls._claim_new_default(recipe, runs_dir, chief)
        return cls._claim_path(recipe, Path(output_dir), overwrite, resume, chief, source)

    @classmethod
    def _claim_new_default(cls, recipe: Recipe, runs_dir: Path, chief: bool) -> RunDir:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = runs_dir / f"{recipe.name}-{stamp}"
        if base.resolve().parent != runs_dir.resolve():
            _name_check("..", runs_dir)  # Unreachable with a checked name; guards anyway.
        if not chief:
            return cls._follower(base, resuming=False)
        with writing(base, OTHER_OUTPUT_DIR):
            runs_dir.mkdir(parents=True, exist_ok=True)
        path, n = base, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = base.with_name(f"{base.name}-{n}")
            except OSError as exc:
                raise write_error(path, exc, OTHER_OUTPUT_DIR) from None
        run = cls(path, chief=True, resuming=False, overwrite=False)
        run._created = True
        run._lock = RunLock(path)
        try:
            run._lock.acquire()
        except BaseException:
            run.close()
            raise
        return run

    @classmethod
    def _follower(cls, path: Path, *, resuming: bool) -> RunDir:
        run = cls(path, chief=False, resuming=resuming, overwrite=False)
        run.out = Path(tempfile.mkdtemp(prefix="zoo-worker-"))
        return run

    @classmethod
    def _claim_path(
        cls,
        recipe: Recipe,
        path: Path,
        overwrite: bool,
        resume: bool,
        chief: bool,
        source: Path | None,
    ) -> RunDir:
        if path.exists() and not path.is_dir():
            raise ZooError(f"--output-dir {path} is a file, not a folder; choose another path.")
        for parent in path.parents:  # A file where a folder should be: say so now.
            if parent.exists() and not parent.is_dir():
                raise ZooError(
                    f"--output-dir {path}: {parent} is a file, not a folder; choose another path."
                )
        if source is not None and source.exists():
            recipe_file = source.resolve()
            if recipe_file.is_relative_to(path.resolve()):
                raise ZooError(
                    f"--output-dir {path} holds the recipe being trained ({source}); a run "
                    "folder must not contain files zoo did not write. Choose a new or empty "
                    "folder."
                )
        if not chief:  # Followers never write here: only whether to resume matters.
            resuming = not overwrite and is_unfinished(path)
            if resuming:
                _check_same_recipe(path, recipe, source)
            return cls._follower(path, resuming=resuming)

        created = not path.exists()
        with writing(path, OTHER_OUTPUT_DIR):
            path.mkdir(parents=True, exist_ok=True)
        run = cls(path, chief=True, resuming=False, overwrite=overwrite)
        run._created = created
        run._lock = RunLock(path)
        try:
            run._lock.acquire()  # Before judging: a live trainer's folder looks unfinished.
            run.resuming = run._judge(recipe, overwrite, resume, source)
        except BaseException:
            run.close()
            raise
        return run

    def _judge(self, recipe: Recipe, overwrite: bool, resume: bool, source: Path | None) -> bool:
        """Whether to resume the run in the (locked) folder; refuses what must not be used."""
        path = self.path
        manifest = check_foreign(path)
        if manifest is not None and manifest.get("kind", "run") != "run":
            raise ZooError(
                f"--output-dir {path} holds a zoo {manifest.get('kind')} folder, not a run; "
                "choose a new or empty folder."
            )
        if manifest is None or not manifest["entries"]:  # New or empty.
            if resume:
                raise ZooError(
                    f"--resume: {path} holds no unfinished run. Leave out --resume to start "
                    "a new run."
                )
            return False
        if overwrite:
            return False
        if is_finished(path):
            if resume:
                raise ZooError(
                    f"--resume: {path} holds no unfinished run (it has metrics.json, so the "
                    "run finished). Leave out --resume to start a new run."
                )
            name = manifest.get("recipe") or "?"
            raise ZooError(
                f"--output-dir {path} holds a finished run of recipe {name}. Choose a new "
                "folder for this run (or leave out --output-dir for runs/<name>-<time>). "
                "--overwrite would delete that run's files (only those zoo wrote) and "
                "start afresh."
            )
        if (path / RECIPE).is_file():
            _check_same_recipe(path, recipe, source)
            return True
        return False  # A run that failed before writing its recipe: nothing to resume.

    # -------------------------------------------------------------- writing
    def start(self, recipe: Recipe, source: Path | None = None) -> None:
        """First write of the run (the data and model are known to be good): remove the
        old run on --overwrite, then record the manifest and the recipe."""
        self._started = True
        if not self.chief:
            return
        with writing(self.path, OTHER_OUTPUT_DIR):
            if not self.resuming:
                self._remove_old_run()
            manifest = read_manifest(self.path) or {"kind": "run", "entries": []}
            manifest.update(
                kind="run",
                recipe=recipe.name,
                recipe_key=recipe_key(recipe, source),
            )
            atomic_write_json(self.path / MANIFEST, manifest)
        self.set_status("training")
        self.write_text(RECIPE, to_yaml(recipe))

    def _remove_old_run(self) -> None:
        """Delete every entry the old manifest lists (and their temporaries); nothing else."""
        manifest = read_manifest(self.path)
        if manifest is None:
            return
        entries = set(manifest["entries"])
        for p in self.path.iterdir():
            if p.name in entries or is_our_temp(p.name, entries):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
        if entries:
            log.info(
                "--overwrite: removed the %d entries of the old run in %s", len(entries), self.path
            )
        atomic_write_json(self.path / MANIFEST, {"kind": "run", "entries": []})

    def file(self, name: str) -> Path:
        """The path for top-level entry `name` (file or folder) of this process's output,
        entered in the manifest first, so even a half-written one is zoo's."""
        if self.chief:
            with writing(self.path / name, OTHER_OUTPUT_DIR):
                register(self.path, name)
        return self.out / name

    def write_text(self, name: str, text: str) -> Path:
        path = self.file(name)
        atomic_write_text(path, text)
        return path

    def write_json(self, name: str, data: Any) -> Path:
        return self.write_text(name, json.dumps(data, indent=2) + "\n")

    def set_status(self, stage: str, reason: str | None = None) -> None:
        """Record how far the run got (`status.json`)."""
        assert stage in STAGES, stage
        status: dict[str, Any] = {
            "stage": stage,
            "updated": datetime.now().isoformat(timespec="seconds"),
        }
        if reason:
            status["reason"] = reason
        self.write_json(STATUS, status)

    def finish(self, metrics: dict[str, Any]) -> None:
        """The last writes of a successful run: status, then `metrics.json`; then the
        backup goes (the run is finished and can no longer be resumed)."""
        self.set_status("finished")
        self.write_json(METRICS, metrics)
        if self.chief:
            shutil.rmtree(self.path / BACKUP, ignore_errors=True)

    def fail(self, reason: str) -> None:
        """Leave the run clearly failed (not finished, still resumable)."""
        if not (self._started and self.chief):
            return
        with contextlib.suppress(ZooError):
            self.set_status("failed", reason)

    # -------------------------------------------------------------- closing
    def close(self) -> None:
        if not self.chief:
            shutil.rmtree(self.out, ignore_errors=True)
            return
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._created and not self._started:  # We made it and wrote nothing into it.
            with contextlib.suppress(OSError):
                leftovers = [p for p in self.path.iterdir() if p.name != MANIFEST]
                if not leftovers:
                    (self.path / MANIFEST).unlink(missing_ok=True)
                    self.path.rmdir()

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if isinstance(exc, RunStopped) and self._started and self.chief:
            with contextlib.suppress(ZooError):
                self.set_status(exc.stage, exc.reason)
        elif exc is not None and not isinstance(exc, (KeyboardInterrupt, SystemExit)):
            self.fail(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ZooError) else str(exc))
        self.close()
