"""Compatibility front for the per-format writers in `zoo.exporting.formats`.

`with_preprocessor` builds the raw-input model every format exports; `save_*` keep the
old call shapes and delegate to the format modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.exporting.formats.base import OUTPUT_NAME, SIGNATURE, Context

if TYPE_CHECKING:
    import keras

    from zoo.config.schema import TestTimeViews
    from zoo.data import DataInfo

__all__ = ["OUTPUT_NAME", "SIGNATURE", "save_keras", "save_saved_model", "save_tflite"]


RAW_INPUT_SUFFIX = "_raw_input"


def with_preprocessor(
    model: keras.Model, preprocessor: Any, info: DataInfo, test_time: TestTimeViews | None = None
) -> keras.Model:
    """`model` with the data's preprocessor in front, taking one raw input named after
    the data's input feature; `model` itself when there is no preprocessor and no
    test-time views. With `test_time` (`data.image.test_time` or `data.video.test_time`),
    the wrapper averages the model's outputs over the preprocessed input's views: itself
    and its mirror images, each also shifted by ±shift pixels (every frame alike for
    clips; zoo's `Flip` and `Shift` layers, then Keras's
    `Average`), with the weights shared. The wrapper is named `<model>_raw_input`, which
    is how `builder_model` finds the builder's model inside it again."""
    if preprocessor is None and test_time is None:
        return model
    import keras

    from zoo.models.layers import Flip, Shift

    raw = keras.Input(shape=info.input_shape, dtype=info.input_dtype, name=info.input_name)
    x = raw if preprocessor is None else preprocessor(raw)
    flipped: dict[str | None, Any] = {None: x}
    views = []
    for i, (mode, offset) in enumerate(test_time.views() if test_time else [(None, 0)]):
        if mode not in flipped:
            flipped[mode] = Flip(mode, name=f"test_time_{mode}")(x)
        view = flipped[mode]
        views.append(Shift(offset, name=f"test_time_shift_{i}")(view) if offset else view)
    outputs = [model(view) for view in views]
    y = outputs[0] if len(outputs) == 1 else keras.layers.Average(name="test_time_mean")(outputs)
    return keras.Model(raw, y, name=f"{model.name}{RAW_INPUT_SUFFIX}")


def builder_model(model: keras.Model) -> Any:
    """The builder's model inside a raw-input model (`with_preprocessor`'s wrapper), or
    `model` itself. Found by the wrapper's name, not by counting nested models: a text
    model's preprocessor is a model too, and a builder may hold one (a
    keras.applications backbone)."""
    inner_name = model.name.removesuffix(RAW_INPUT_SUFFIX)
    if inner_name != model.name:
        for layer in reversed(model.layers):
            if layer.name == inner_name:
                return layer
    return model


def save_keras(model: keras.Model, path: Path) -> Path:
    from zoo.exporting.formats.keras import KERAS

    return KERAS.write(model, path, None)  # type: ignore[arg-type]


def save_saved_model(model: keras.Model, path: Path, info: DataInfo) -> Path:
    from zoo.exporting.formats.saved_model import SAVED_MODEL

    return SAVED_MODEL.write(model, path, Context(info))


def save_tflite(model: keras.Model, path: Path, info: DataInfo) -> Path:
    """Deprecated: LiteRT without quantisation (`model.tflite`)."""
    from zoo.exporting.formats.litert import LITERT

    return LITERT.write(model, path, Context(info), "none")
