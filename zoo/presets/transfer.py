"""Fine-tuning: start a freshly built model from a preset's (or a run's) weights, rebuild
the classification head when the class count changed, and freeze layers by name.

Why by position, not by name: both models come from the same builder, so their layers
line up one to one; a layer whose weight shapes differ is accepted only at the head
(its output size is the class count), where it keeps its fresh initialisation.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError
from zoo.presets import format as fmt
from zoo.presets import load, uris
from zoo.runs import layout

if TYPE_CHECKING:
    import keras

log = logging.getLogger("zoo")


@dataclass(frozen=True)
class Source:
    """Where fine-tuning weights come from, and their identity."""

    uri: str
    sha256: str  # Of the preset's manifest.json, or of a run's model.keras.
    kind: str  # "preset" or "run"
    builder: str
    params: dict[str, Any]
    folder: Path


def source(uri: str) -> Source:
    """Resolve and verify `uri`: a preset address, or a finished run folder."""
    path = Path(os.path.expanduser(uri))
    if "://" not in uri and path.is_dir() and not fmt.is_preset(path):
        from zoo.presets.publish import check_run, read_builder

        check_run(path, use="fine-tuned from (model.init_from)")
        name, params = read_builder(path)
        return Source(uri, fmt.sha256_file(path / layout.MODEL), "run", name, params, path)
    folder, _ = uris.resolve(uri)
    name, params = load.read_config(folder)
    return Source(uri, fmt.manifest_hash(folder), "preset", name, params, folder)


def pinned(uri: str, sha256: str | None) -> Source:
    """`source(uri)`, refusing a source whose content differs from the pinned sha256."""
    found = source(uri)
    if sha256 and sha256 != found.sha256:
        raise ZooError(
            f"model.init_from {uri} has changed: its sha256 is {found.sha256[:12]}..., the "
            f"recipe pins {sha256[:12]}... (model.init_from_sha256). Point init_from at the "
            "pinned preset, or remove init_from_sha256 to accept the new one."
        )
    return found


def _source_model(src: Source) -> Any:
    """The source's builder model holding its trained weights."""
    from zoo.models.registry import get_model_entry

    if src.kind == "run":
        from zoo.exporting.artifacts import load_keras_model
        from zoo.exporting.writers import builder_model

        return builder_model(load_keras_model(src.folder / layout.MODEL))
    entry = get_model_entry(src.builder)
    model = entry.builder(**entry.coerce_params(src.params))
    load.load_weights(model, src.folder / fmt.WEIGHTS, src.uri)
    return model


def check_builder(src: Source, builder: str) -> None:
    """The source must hold weights of the recipe's builder."""
    if src.builder != builder:
        raise ZooError(
            f"model.init_from {src.uri} holds weights of builder {src.builder!r}, but the "
            f"recipe builds {builder!r}; set model.name: {src.builder} or choose another "
            "source."
        )


def _source_vocabulary(src: Source) -> list[str] | None:
    if src.kind == "preset":
        path = fmt.listed(src.folder, fmt.read_manifest(src.folder), fmt.VOCABULARY)
        return path.read_text(encoding="utf-8").split("\n")[:-1] if path is not None else None
    from zoo.exporting.artifacts import load_keras_model
    from zoo.presets.publish import vocabulary_of

    return vocabulary_of(load_keras_model(src.folder / layout.MODEL))


def check_vocabulary(src: Source, preprocessor: Any) -> None:
    """A text model's embeddings mean the token ids of its vocabulary: fine-tuning on data
    whose vectoriser learnt another vocabulary would silently scramble them."""
    from zoo.presets.publish import vocabulary_of

    ours = vocabulary_of(preprocessor) if preprocessor is not None else None
    theirs = _source_vocabulary(src)
    if ours is None and theirs is None:
        return
    if ours != theirs:
        raise ZooError(
            f"model.init_from {src.uri}: its text vocabulary differs from the one this "
            "recipe's data gives (the vectoriser is adapted on the new training texts), so "
            "its embeddings would map to other words. Fine-tune text models only on data "
            "with the same vocabulary (same texts and data.text options), or train from "
            "scratch."
        )


def init_from(
    model: keras.Model, src: Source, builder: str, num_classes: int | None, preprocessor: Any = None
) -> list[str]:
    """Copy the source's weights into `model` (built by `builder`); returns the names of
    the head layers left freshly initialised because the class count changed.
    `preprocessor` is the new data's (its vocabulary must be the source's)."""
    check_builder(src, builder)
    check_vocabulary(src, preprocessor)
    trained = _source_model(src)
    ours = [layer for layer in model.layers if layer.weights]
    theirs = [layer for layer in trained.layers if layer.weights]
    if len(ours) != len(theirs):
        raise ZooError(
            f"model.init_from {src.uri}: its {builder!r} has {len(theirs)} layers with "
            f"weights, the recipe's has {len(ours)}; model.params must keep the architecture "
            "(only the class count may change)."
        )
    rebuilt = []
    for mine, source_layer in zip(ours, theirs, strict=True):
        shapes = [tuple(w.shape) for w in mine.weights]
        source_shapes = [tuple(w.shape) for w in source_layer.weights]
        if shapes == source_shapes:
            mine.set_weights(source_layer.get_weights())
        elif num_classes is not None and shapes[-1][-1:] == (num_classes,):
            rebuilt.append(mine.name)  # The head: the new class count; fresh weights.
        else:
            raise ZooError(
                f"model.init_from {src.uri}: layer {mine.name!r} has weights of shapes "
                f"{shapes}, the source's {source_layer.name!r} {source_shapes}; model.params "
                "must keep the architecture (only the class count may change)."
            )
    log.info(
        "weights from %s (%s %s)%s",
        src.uri,
        src.kind,
        src.sha256[:12],
        f"; head rebuilt for {num_classes} classes: {', '.join(rebuilt)}" if rebuilt else "",
    )
    return rebuilt


def freeze(model: keras.Model, patterns: list[str]) -> list[str]:
    """Set `trainable = False` on every layer whose name matches a glob pattern; a pattern
    matching no layer is a ZooError listing the layer names. Returns the frozen names."""
    layers = _all_layers(model)
    frozen = []
    for pattern in patterns:
        hits = [layer for layer in layers if fnmatch.fnmatchcase(layer.name, pattern)]
        if not hits:
            raise ZooError(
                f"model.freeze: {pattern!r} matches no layer of {model.name!r}. Its layers: "
                f"{', '.join(layer.name for layer in layers)}."
            )
        for layer in hits:
            layer.trainable = False
            frozen.append(layer.name)
    return sorted(set(frozen))


def _all_layers(model: keras.Model) -> list[Any]:
    out = []
    for layer in model.layers:
        if layer.__class__.__name__ == "InputLayer":
            continue
        out.append(layer)
        if hasattr(layer, "layers") and layer is not model:
            out.extend(_all_layers(layer))
    return out
