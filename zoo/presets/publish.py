"""`publish(run_dir, dest)`: a finished run as a preset folder, or uploaded to a hub.

Only a finished run (status finished, metrics.json written, every export check passed)
is published: a preset promises measured scores. The folder is written under a
temporary name beside `dest` and renamed into place, so a reader never sees half a
preset; an existing `dest` is replaced only when it is itself a preset (or empty).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError
from zoo.exporting import writers
from zoo.presets import format as fmt
from zoo.presets import network, uris
from zoo.runs import layout, temporary

if TYPE_CHECKING:
    import keras

BUILDER_FILE = layout.BUILDER  # Written by the trainer into each run folder.


def check_run(run: Path, *, use: str = "published") -> dict[str, Any]:
    """The run's metrics; a ZooError unless it is a finished zoo run whose exports passed.
    `use` says what the run is for, in the refusal: "published", "fine-tuned from"."""
    from zoo.runs.layout import METRICS
    from zoo.runs.records import read_metrics
    from zoo.runs.status import is_run, read_status

    if not run.is_dir():
        raise ZooError(f"No run folder at {run}: give the folder `zoo train` wrote.")
    if not is_run(run):
        raise ZooError(f"{run} is not a zoo run folder (no .zoo-run.json); give a run folder.")
    status = read_status(run)
    stage = status.get("stage", "unknown")
    if stage != "finished" or not (run / METRICS).is_file():
        reason = f" ({status['reason']})" if status.get("reason") else ""
        raise ZooError(
            f"{run} holds an unfinished run (stage: {stage}{reason}); only a finished run "
            f"(metrics.json written) is {use}. Finish it by running its train command "
            "again, which resumes it."
        )
    metrics = read_metrics(run / METRICS)
    failed = [k for k, c in metrics.export.items() if not c.ok]
    if failed:
        raise ZooError(
            f"{run}: the export check of {', '.join(failed)} failed; a run whose exported "
            f"model differs from the trained one is not {use}. Export it again "
            "(zoo export) or retrain."
        )
    for record in sorted(run.glob("export-*.json")):  # Checks of later `zoo export`s.
        check = fmt.read_json(run, record.name)
        if isinstance(check, dict) and any(
            isinstance(c, dict) and c.get("ok") is False for c in check.values()
        ):
            raise ZooError(
                f"{run}: the export check recorded in {record.name} failed; a run whose "
                f"exported model differs from the trained one is not {use}."
            )
    for name in (layout.MODEL, BUILDER_FILE, layout.RECIPE):
        if not (run / name).is_file():
            raise ZooError(
                f"{run} has no {name}; presets need it (set export.keras: true, and train "
                "with this zoo, which records the builder's parameters in builder.json)."
            )
    return metrics.model_dump()


def read_builder(run: Path) -> tuple[str, dict[str, Any]]:
    """(builder name, parameters) of the run's builder.json, typed and checked against
    the registry and the resource limits: a forged file is one ZooError naming it."""
    from zoo import limits
    from zoo.errors import RegistryError
    from zoo.models.registry import get_model_entry
    from zoo.runs.records import read_builder as read

    path = run / BUILDER_FILE
    builder = read(path)
    try:
        get_model_entry(builder.name)
    except RegistryError as exc:
        raise ZooError(f"{path}: {exc}") from None
    params = dict(builder.params)
    too_big = limits.model_parameter_problems(params)
    if too_big:
        where, problem = too_big[0]
        raise ZooError(f"{path}: params.{where.split('.')[-1]} {problem}")
    return builder.name, params


def vocabulary_of(model: keras.Model) -> list[str] | None:
    """The vocabulary of the first TextVectorization layer in `model` (nested too)."""
    import keras

    if isinstance(model, keras.layers.TextVectorization):
        return [str(t) for t in model.get_vocabulary()]
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.TextVectorization):
            return [str(t) for t in layer.get_vocabulary()]
        if isinstance(layer, keras.Model):
            stack.extend(layer.layers)
    return None


_DEST_FIX = "give a new or empty folder (or a preset zoo published there) as DEST"


def _prepare_dest(dest: Path) -> None:
    """`dest` may be replaced only when it is new, empty, or a preset zoo published whose
    every file is one its manifest.json lists with that very sha256: the manifest proves
    zoo wrote them. Anything else there (a user's thesis.tex, their MY_NOTES.md beside a
    preset, a listed file they edited) is named, and nothing is touched."""
    from zoo.fs import require_utf8_path
    from zoo.runs.manifest import refuse_foreign
    from zoo.runs.temporary import MARK

    require_utf8_path(dest, "DEST")
    if dest.exists() and not dest.is_dir():
        raise ZooError(f"{dest} is a file; {_DEST_FIX}.")
    if not dest.is_dir():
        return
    try:
        present = sorted(p for p in dest.rglob("*") if not p.is_dir() or p.is_symlink())
        folders = sorted(p for p in dest.rglob("*") if p.is_dir() and not p.is_symlink())
    except OSError as exc:
        raise ZooError(f"Cannot read {dest}: {exc.strerror}; {_DEST_FIX}.") from None
    if not present and not folders:
        return
    try:
        listed = fmt.read_manifest(dest)["files"]
    except ZooError:
        listed = {}
    foreign = []
    for path in present:
        rel = path.relative_to(dest).as_posix()
        if rel in (fmt.MANIFEST, MARK) and path.is_file() and not path.is_symlink():
            continue
        entry = listed.get(rel)
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if path.is_symlink() or not path.is_file() or fmt.sha256_file(path) != digest:
            foreign.append(rel)
    if not listed and (dest / fmt.MANIFEST).exists():  # Not zoo's manifest.json.
        foreign.append(fmt.MANIFEST)
    holding = {parent for p in present for parent in p.relative_to(dest).parents}
    foreign += [
        p.relative_to(dest).as_posix() + "/" for p in folders if p.relative_to(dest) not in holding
    ]
    if foreign:
        refuse_foreign(dest, sorted(set(foreign)), fix=_DEST_FIX + ", or move those files away")


def write_folder(run: Path, dest: Path) -> dict[str, Any]:
    """Write the preset of `run` into the folder `dest` (atomically). Returns the manifest."""
    from zoo.exporting.artifacts import load_keras_model
    from zoo.models.registry import get_model_entry

    check_run(run)
    if dest.resolve().is_relative_to(run.resolve()):
        raise ZooError(
            f"{dest} lies inside the run folder {run}; a preset is its own folder (zoo never "
            "adds files to a run it did not record). Choose a DEST outside the run."
        )
    _prepare_dest(dest)
    name, params = read_builder(run)
    entry = get_model_entry(name)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        temporary.sweep(dest)  # What a killed publish of the same DEST left.
        tmp = temporary.make(dest)
    except OSError as exc:
        raise ZooError(f"Cannot write {dest}: {exc.strerror}; choose a writable DEST.") from None
    try:
        raw = load_keras_model(run / layout.MODEL)
        inner = writers.builder_model(raw)
        inner.save_weights(tmp / fmt.WEIGHTS)
        _check_weights(entry, params, inner, tmp / fmt.WEIGHTS)
        shutil.copyfile(run / layout.MODEL, tmp / fmt.MODEL)
        vocabulary = vocabulary_of(raw)
        if vocabulary is not None:
            (tmp / fmt.VOCABULARY).write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
        if (run / layout.CLASSES).is_file():
            shutil.copyfile(run / layout.CLASSES, tmp / fmt.CLASSES)
        config = {"builder": name, "task": entry.task, "params": params}
        (tmp / fmt.CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        for text_file in (fmt.RECIPE, fmt.METRICS, fmt.CARD):
            if (run / text_file).is_file():
                text = (run / text_file).read_text(encoding="utf-8")
                (tmp / text_file).write_text(fmt.scrub_paths(text), encoding="utf-8")
        recipe_name = _recipe_name(run)
        manifest = fmt.write_manifest(
            tmp,
            name=dest.name,
            extra={
                "recipe": recipe_name,
                "builder": name,
                "source_run": run.resolve().name,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        _swap_in(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _swap_in(tmp: Path, dest: Path) -> None:
    """Move the finished `tmp` to `dest`; an older preset there (checked by
    `_prepare_dest`: only files zoo wrote) is moved aside, marked as zoo's, and deleted
    only once the new one is in place, so a kill at any point leaves either preset whole
    and a marked temporary the next publish removes."""
    old = temporary.move_aside(dest) if dest.is_dir() else None
    try:
        tmp.rename(dest)
    except OSError:
        if old is not None:
            old.rename(dest)
            temporary.unmark(dest)
        raise
    temporary.unmark(dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _recipe_name(run: Path) -> str:
    from zoo.runs.manifest import read_manifest

    return str((read_manifest(run) or {}).get("recipe", run.name))


def _check_weights(entry: Any, params: dict[str, Any], trained: Any, weights: Path) -> None:
    """A fresh build of the recorded builder must take the saved weights unchanged: else
    the preset's config.json would not describe its weights."""
    import numpy as np

    try:
        fresh = entry.builder(**entry.coerce_params(params))
        fresh.load_weights(weights)
    except ZooError as exc:
        raise ZooError(f"{BUILDER_FILE} of the run: {exc}") from None
    except Exception as exc:  # Parameters the builder cannot take, weights that do not fit.
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise ZooError(
            f"The builder {entry.name!r} cannot be rebuilt from the run's {BUILDER_FILE} "
            f"({type(exc).__name__}: {detail}); the run cannot be published. Train it again "
            "with this zoo."
        ) from None
    if len(fresh.weights) != len(trained.weights):
        raise ZooError(
            f"The builder {entry.name!r} rebuilt from {BUILDER_FILE} has "
            f"{len(fresh.weights)} weights, the trained model {len(trained.weights)}; the "
            "run cannot be published."
        )
    for a, b in zip(fresh.weights, trained.weights, strict=True):
        if a.shape != b.shape or not np.array_equal(np.asarray(a), np.asarray(b)):
            raise ZooError(
                f"The builder {entry.name!r} rebuilt from builder.json does not match the "
                f"trained weights ({a.path}); the run cannot be published."
            )


def publish(run: str | os.PathLike[str], dest: str) -> str:
    """Publish the finished run `run` to `dest` (a folder, file://, hf:// or kaggle://);
    returns where it went."""
    run_path = Path(run)
    address = uris.parse(dest)
    if not address.remote:
        write_folder(run_path, Path(address.target).expanduser())
        return address.target
    check_run(run_path)
    if address.scheme == "hf":  # Reach the hub before the (slow) folder is written.
        _hf_repo(address)
    with tempfile.TemporaryDirectory(prefix="zoo-publish-") as tmp:
        folder = Path(tmp) / address.target.split("/")[-1]
        write_folder(run_path, folder)
        _upload(address, folder)
    return address.text


def _hf_repo(address: uris.Address) -> None:
    """Create the Hugging Face repository (or find it there)."""
    hub = uris._import("huggingface_hub")
    _on_hub(
        address, lambda: hub.HfApi().create_repo(address.target, exist_ok=True, repo_type="model")
    )


def _upload(address: uris.Address, folder: Path) -> None:
    if address.scheme == "hf":
        hub = uris._import("huggingface_hub")
        _on_hub(
            address,
            lambda: hub.HfApi().upload_folder(
                repo_id=address.target, folder_path=str(folder), revision=address.revision
            ),
        )
        return
    kagglehub = uris._import("kagglehub")
    handle = "/".join(address.target.split("/")[:4])
    with uris.quiet():
        _on_hub(
            address,
            lambda: kagglehub.model_upload(handle, str(folder), license_name="Apache 2.0"),
        )


def _on_hub(address: uris.Address, request: Any) -> None:
    """One hub call with the download path's deadlines (zoo/presets/network.py): a silent
    endpoint ends in exit 2 naming it, like a refused one, never a hang."""
    host = "Hugging Face Hub" if address.scheme == "hf" else "Kaggle"
    try:
        network.call(request, host=host, endpoint=uris.endpoint(address), what=address.text)
    except network.HubTimeout:
        raise
    except Exception as exc:  # Network, authentication, permissions.
        raise uris.unreachable(address, exc) from None
