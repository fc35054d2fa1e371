"""What a model argument names (a preset, a zoo run, or a bare model file) and the one
verified way each is opened, for `zoo evaluate`, `zoo predict` and the library API.

Why one place: a folder was taken for a run because it held a recipe.yaml, so a preset
with no manifest.json (or a damaged one) was scored as a run, and a preset's classes.json
was read without its sha256. Now a folder is read only as what its record proves:
- a preset: it has manifest.json (or is a `file://`, `hf://`, `kaggle://` address); every
  file is checked against its sha256 first (`zoo.presets.uris.resolve`), and only the
  files the manifest lists are read;
- a zoo run: it has `.zoo-run.json` of kind "run"; only the files it lists are read;
- anything else that holds a recipe.yaml looks like one of them but cannot be verified,
  and is refused. A bare `.keras` / SavedModel / `.tflite` outside such folders is the
  user's own model (evaluate then needs --recipe).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.presets import format as fmt
from zoo.runs import layout


def is_preset_address(model: str | Path) -> bool:
    """A hub or file:// address, or a folder holding a preset manifest.json."""
    text = str(model)
    return "://" in text or (Path(text).is_dir() and (Path(text) / fmt.MANIFEST).is_file())


def run_of(folder: Path) -> Path | None:
    """`folder` when it is a zoo run (its `.zoo-run.json` says so), else None."""
    from zoo.runs.status import is_run

    return folder if folder.is_dir() and is_run(folder) else None


def refuse_unverifiable(folder: Path) -> None:
    """A folder with a recipe.yaml that is neither a zoo run nor a preset: its files
    cannot be checked, so nothing in it is read as zoo's."""
    from zoo.runs.layout import MANIFEST, RECIPE

    if not folder.is_dir() or not (folder / RECIPE).is_file() or run_of(folder):
        return
    if is_preset_address(folder):
        return
    looks_preset = any((folder / n).exists() for n in (fmt.CONFIG, fmt.WEIGHTS))
    what = (
        f"a preset without its {fmt.MANIFEST} (the list of its files and their sha256)"
        if looks_preset
        else f"a folder with a recipe.yaml but no {MANIFEST} (zoo's record of a run)"
    )
    raise ZooError(
        f"{folder} looks like {what}: zoo cannot verify its files, so it does not read "
        "them. Download or publish the preset again (zoo publish RUN_DIR DEST), or give the "
        "model file itself with --recipe RECIPE.yaml."
    )


def listed(folder: Path, name: str) -> Path | None:
    """`folder/name` when the folder's record lists it (a run's `.zoo-run.json`, a
    preset's `manifest.json`), else None: an unlisted file is ignored."""
    from zoo.runs.manifest import read_manifest

    if (folder / fmt.MANIFEST).is_file():
        files = fmt.read_manifest(folder)["files"]
        return folder / name if name in files else None
    manifest = read_manifest(folder)
    if manifest is not None and name in manifest["entries"]:
        return folder / name
    return None


def run_class_names(run: Path) -> tuple[str, ...]:
    """The class names in a run's classes.json when the run lists it; () when not."""
    path = listed(run, layout.CLASSES)
    if path is None or not path.is_file():
        return ()
    from zoo.runs.records import read_classes

    return read_classes(path)


def load_for_prediction(model: str | Path) -> Any:
    """The `Loaded` model with its class names, through the verified path of its kind."""
    import dataclasses

    from zoo.exporting import artifacts

    if is_preset_address(model):
        from zoo.evaluation.scoring import predictor
        from zoo.presets.load import from_preset

        preset = from_preset(model)
        inp = preset.model.inputs[0]
        return artifacts.Loaded(
            preset.path / fmt.MODEL,
            "keras",
            predictor(preset.model),
            inp.name,
            str(inp.dtype),
            tuple(inp.shape[1:]),
            names=tuple(preset.class_names),
        )
    path = Path(model)
    refuse_unverifiable(path)
    loaded = artifacts.load(path)
    folder = loaded.path.parent
    refuse_unverifiable(folder)
    run = run_of(folder)
    return dataclasses.replace(loaded, names=run_class_names(run) if run else ())
