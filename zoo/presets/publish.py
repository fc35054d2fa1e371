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
from zoo.fs import temp_dir
from zoo.presets import format as fmt
from zoo.presets import uris
from zoo.runs import layout

if TYPE_CHECKING:
    import keras

BUILDER_FILE = layout.BUILDER  # Written by the trainer into each run folder.


def check_run(run: Path) -> dict[str, Any]:
    """The run's metrics; a ZooError unless it is a finished zoo run whose exports passed."""
    from zoo.runs.layout import METRICS
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
            "(metrics.json written) is published. Finish it by running its train command "
            "again, which resumes it."
        )
    metrics = fmt.read_json(run, METRICS)
    failed = [k for k, c in (metrics.get("export") or {}).items() if not c.get("ok", False)]
    if failed:
        raise ZooError(
            f"{run}: the export check of {', '.join(failed)} failed; a run whose exported "
            "model differs from the trained one is not published. Export it again "
            "(zoo export) or retrain."
        )
    for record in sorted(run.glob("export-*.json")):  # Checks of later `zoo export`s.
        check = fmt.read_json(run, record.name)
        if isinstance(check, dict) and check.get("ok") is False:
            raise ZooError(
                f"{run}: the export check recorded in {record.name} failed; a run whose "
                "exported model differs from the trained one is not published."
            )
    for name in (layout.MODEL, BUILDER_FILE, layout.RECIPE):
        if not (run / name).is_file():
            raise ZooError(
                f"{run} has no {name}; presets need it (set export.keras: true, and train "
                "with this zoo, which records the builder's parameters in builder.json)."
            )
    return metrics


def builder_model(model: keras.Model) -> Any:
    """The builder's model inside a raw-input model (preprocessor + builder), or `model`."""
    import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested[-1] if len(nested) == 1 else model


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


def _prepare_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise ZooError(f"{dest} is a file; give a new folder (or a preset folder) as DEST.")
    if dest.is_dir() and any(dest.iterdir()) and not fmt.is_preset(dest):
        raise ZooError(
            f"{dest} holds files and is not a zoo preset; zoo replaces only an older preset. "
            "Give a new or empty folder as DEST."
        )


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
    builder = fmt.read_json(run, BUILDER_FILE)
    name, params = builder["name"], builder["params"]
    entry = get_model_entry(name)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_dir(f".{dest.name}.tmp-", dest.parent)
    except OSError as exc:
        raise ZooError(f"Cannot write {dest}: {exc.strerror}; choose a writable DEST.") from None
    try:
        raw = load_keras_model(run / layout.MODEL)
        inner = builder_model(raw)
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
    """Move the finished `tmp` to `dest`; an older preset there is moved aside first and
    deleted only once the new one is in place."""
    old = None
    if dest.is_dir():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        dest.rename(old)
    try:
        tmp.rename(dest)
    except OSError:
        if old is not None:
            old.rename(dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _recipe_name(run: Path) -> str:
    from zoo.runs.manifest import read_manifest

    return str((read_manifest(run) or {}).get("recipe", run.name))


def _check_weights(entry: Any, params: dict[str, Any], trained: Any, weights: Path) -> None:
    """A fresh build of the recorded builder must take the saved weights unchanged: else
    the preset's config.json would not describe its weights."""
    import numpy as np

    fresh = entry.builder(**entry.coerce_params(params))
    fresh.load_weights(weights)
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
    try:
        hub.HfApi().create_repo(address.target, exist_ok=True, repo_type="model")
    except Exception as exc:  # Network, authentication, permissions.
        raise uris.unreachable(address, exc) from None


def _upload(address: uris.Address, folder: Path) -> None:
    if address.scheme == "hf":
        hub = uris._import("huggingface_hub")
        try:
            api = hub.HfApi()
            api.upload_folder(
                repo_id=address.target, folder_path=str(folder), revision=address.revision
            )
        except Exception as exc:  # Network, authentication, permissions.
            raise uris.unreachable(address, exc) from None
        return
    kagglehub = uris._import("kagglehub")
    handle = "/".join(address.target.split("/")[:4])
    try:
        with uris.quiet():
            kagglehub.model_upload(handle, str(folder), license_name="Apache 2.0")
    except Exception as exc:  # Network, authentication, permissions.
        raise uris.unreachable(address, exc) from None
