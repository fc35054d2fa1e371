"""`.keras`: the whole raw-input model, reloaded with Keras's safe mode on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.exporting.formats.base import Context, Format, register, replace
from zoo.runs import layout

if TYPE_CHECKING:
    import keras


class KerasFormat(Format):
    name = "keras"
    title = "Keras"
    plan_order = 10

    def target(self, variant: str | None = None) -> str:
        return layout.MODEL

    def tolerance(self, variant: str | None = None) -> float:
        return 1e-5  # Same kernels as in training: only reduction-order noise.

    def write(
        self, model: keras.Model, path: Path, ctx: Context, variant: str | None = None
    ) -> Path:
        tmp = path.with_name(f".{path.stem}.tmp.keras")
        model.save(tmp)
        replace(tmp, path)
        return path

    def load(self, path: Path) -> Any:
        from zoo.evaluation.scoring import predictor
        from zoo.exporting.artifacts import load_keras_model

        return predictor(load_keras_model(path))


KERAS = register(KerasFormat())
