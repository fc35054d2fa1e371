"""Loading presets: the raw-input model with its class names, or the builder's weights.

Every load goes through `uris.resolve`, which verifies each file's sha256 against the
manifest first, so a changed or damaged file is an error naming it, never a silently
different model. `.keras` files are loaded with Keras's safe mode on
(`zoo.exporting.artifacts.load_keras_model`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import limits
from zoo.errors import ZooError
from zoo.presets import format as fmt
from zoo.presets import uris

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class Preset:
    """A loaded preset. `model` takes raw input (uint8 pixels, raw strings) and returns
    class probabilities; `class_names[i]` names output `i`."""

    uri: str
    path: Path
    manifest: dict[str, Any] = field(repr=False)
    sha256: str  # Of manifest.json: the preset's identity.
    builder: str
    params: dict[str, Any] = field(repr=False)
    class_names: list[str]
    metrics: dict[str, Any] = field(repr=False)
    model: keras.Model = field(repr=False)  # keras.Model

    @property
    def recipe_text(self) -> str:
        return (self.path / fmt.RECIPE).read_text(encoding="utf-8")


def read_config(folder: Path) -> tuple[str, dict[str, Any]]:
    """(builder name, full builder parameters) of a verified preset folder."""
    config = fmt.read_config(folder)
    params = dict(config.params)
    too_big = limits.model_parameter_problems(params)
    if too_big:  # A forged config.json asking for a huge model.
        where, problem = too_big[0]
        raise ZooError(f"{folder / fmt.CONFIG}: params.{where.split('.')[-1]} {problem}")
    return config.builder, params


def class_names(
    folder: Path, manifest: dict[str, Any], num_classes: int | None = None
) -> list[str]:
    """The class names of classes.json when the manifest lists it (so its sha256 was
    checked), else "0", "1", ...: an unlisted classes.json is ignored."""
    from zoo.runs.records import read_classes

    path = fmt.listed(folder, manifest, fmt.CLASSES)
    if path is not None:
        names = list(read_classes(path))
        if num_classes is None or len(names) == num_classes:
            return names
        raise ZooError(
            f"{path} names {len(names)} classes, but the preset's model predicts "
            f"{num_classes}; the preset is damaged. Download or publish it again."
        )
    return [str(i) for i in range(num_classes or 0)]


def from_preset(uri: str | os.PathLike[str]) -> Preset:
    """Load the preset at `uri` (a folder, file://PATH, hf://ORG/NAME or
    kaggle://OWNER/MODEL/keras/VARIANT): every file is checked against the manifest, then
    the raw-input model is loaded (safe mode on). Use `preset.model` and
    `preset.class_names`."""
    from zoo.exporting.artifacts import load_keras_model

    folder, manifest = uris.resolve(uri)
    builder, params = read_config(folder)
    model = load_keras_model(folder / fmt.MODEL)
    num_classes = int(model.outputs[0].shape[-1])
    return Preset(
        uri=os.fspath(uri),
        path=folder,
        manifest=manifest,
        sha256=fmt.manifest_hash(folder),
        builder=builder,
        params=params,
        class_names=class_names(folder, manifest, num_classes),
        metrics=fmt.read_json(folder, fmt.METRICS),
        model=model,
    )


def _plain(value: Any) -> Any:
    """JSON-comparable form (tuples become lists)."""
    return json.loads(json.dumps(value, default=list))


def preset_params(
    uri: str | os.PathLike[str], name: str, params: dict[str, Any]
) -> tuple[Path, dict[str, Any]]:
    """(verified preset folder, full parameters) for building `name` with the preset's
    weights; a different builder, or a parameter that differs, is a ZooError."""
    from zoo.models.registry import get_model_entry

    folder, _ = uris.resolve(uri)
    builder, stored = read_config(folder)
    if builder != name:
        raise ZooError(
            f"The preset {os.fspath(uri)} holds weights of builder {builder!r}, not {name!r}; "
            f"build_model({builder!r}, weights=...) or choose a preset of {name!r}."
        )
    entry = get_model_entry(name)
    full = entry.coerce_params(stored)
    wanted = entry.coerce_params(params)
    differ = [k for k, v in wanted.items() if _plain(v) != _plain(full.get(k))]
    if differ:
        detail = ", ".join(
            f"{k}={_plain(wanted[k])!r} (preset: {_plain(full.get(k))!r})" for k in differ
        )
        raise ZooError(
            f"The preset {os.fspath(uri)} was trained with other parameters of {name!r}: "
            f"{detail}. Leave them out to build the preset's model, or fine-tune with "
            "model.init_from in a recipe to change them."
        )
    return folder, full


def build_with_weights(name: str, uri: str | os.PathLike[str], **params: Any) -> keras.Model:
    """A freshly built `name` (the preset's parameters, `params` must agree) holding the
    preset's weights."""
    from zoo.models.registry import get_model_entry

    folder, full = preset_params(uri, name, params)
    model = get_model_entry(name).builder(**full)
    load_weights(model, folder / fmt.WEIGHTS, os.fspath(uri))
    return model


def load_weights(model: keras.Model, path: Path, where: str) -> None:
    try:
        model.load_weights(path)
    except Exception as exc:  # A weights file that does not fit the built model.
        raise ZooError(
            f"The weights of {where} do not fit the built model {model.name!r}: "
            f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
        ) from None
