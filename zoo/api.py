"""The library: every use case zoo offers, one function each, with typed results.

    import zoo
    run = zoo.train("mnist_cnn", overrides=["training.epochs=1"])
    zoo.check("my_recipe.yaml")                       # the trainer with limits
    scores = zoo.evaluate(run.run_dir, split="test")
    checks = zoo.exporting(run.run_dir, "litert", quantize="int8")
    zoo.publish(run.run_dir, "presets/mnist_cnn")
    preset = zoo.from_preset("presets/mnist_cnn")

The CLI (zoo/cli/) only parses arguments and prints what these return, so a script and
the `zoo` command do the same work and log the same lines. This module is the API layer:
it may import any layer below it and nothing imports it but zoo/__init__.py and the CLI.
Imports of TensorFlow-heavy modules stay inside the functions, so `import zoo` is fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import logs
from zoo.config.loading import load_recipe, recipe_file
from zoo.config.schema import Recipe
from zoo.data.bundle import DataBundle, DataInfo
from zoo.data.sources.registry import register_source
from zoo.models import registry

__all__ = [
    "DataBundle",
    "DataInfo",
    "build_model",
    "check",
    "evaluate",
    "export",
    "from_preset",
    "predict",
    "prepare",
    "publish",
    "register_source",
    "results",
    "search",
    "train",
    "train_recipe",
]

if TYPE_CHECKING:
    import keras

    from zoo.presets.load import Preset
    from zoo.training.trainer import RunResult
    from zoo.usecases.predict import Prediction
    from zoo.usecases.results import Row
    from zoo.usecases.search import SearchOutcome

RecipeLike = Recipe | str | os.PathLike[str]


def _recipe(recipe: RecipeLike, overrides: Iterable[str]) -> tuple[Recipe, Path | None]:
    """A loaded recipe and the file it came from (None for a `Recipe` object)."""
    if isinstance(recipe, Recipe):
        if overrides:
            raise TypeError("overrides apply to recipe files; pass a path, or use load_recipe().")
        return recipe, None
    return load_recipe(recipe, overrides), recipe_file(recipe)


def train(
    recipe: RecipeLike,
    *,
    overrides: Iterable[str] = (),
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    verbose: int | str = "auto",
) -> RunResult:
    """Train, evaluate and export a recipe (a `Recipe`, a YAML path or a built-in name).

    An unfinished run in `output_dir` (or, with `resume`, the newest unfinished run of the
    recipe under runs/) continues from its last completed epoch. Returns a `RunResult`
    with `.metrics` ({"test": {"accuracy": ...}, ...}) and `.run_dir`."""
    logs.setup()
    from zoo.training import trainer

    loaded, source = _recipe(recipe, overrides)
    return trainer.run(
        loaded,
        output_dir=output_dir,
        overwrite=overwrite,
        resume=resume,
        verbose=verbose,
        source=source,
    )


train_recipe = train  # The name of earlier releases.


def check(recipe: RecipeLike, *, overrides: Iterable[str] = ()) -> RunResult:
    """The trainer itself with limits (Lightning's `fast_dev_run`): every stage the run
    goes through (strategy, init_from/freeze, callbacks, every export format, each
    verified) on one batch per split, in a scratch folder deleted afterwards. A stage
    that fails raises a ZooError naming it; `.lines()` is the stage report."""
    logs.setup()
    from zoo.training import trainer
    from zoo.training.limits import CHECK

    loaded, source = _recipe(recipe, overrides)
    return trainer.run(loaded, source=source, limits=CHECK, verbose=0)


def evaluate(
    model: str | Path,
    *,
    recipe: str | Path | None = None,
    split: str = "test",
    output_dir: str | Path | None = None,
    allow_unfinished: bool = False,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Score a run, model file or preset on `split` with the trainer's own scoring;
    writes the report into its own folder and returns `{split: scores, ...}`."""
    logs.setup()
    from zoo.usecases.evaluate import evaluate as run_evaluation

    return run_evaluation(
        model,
        recipe=recipe,
        split=split,
        output_dir=output_dir,
        allow_unfinished=allow_unfinished,
        overrides=overrides,
    )


def export(
    run_dir: str | Path,
    format: str,
    *,
    quantize: str | None = None,
    allow_unfinished: bool = False,
) -> dict[str, Any]:
    """Re-export a run's model.keras as `format` (keras, saved_model, onnx, litert), each
    artifact checked in a fresh process; returns {kind: check}."""
    logs.setup()
    from zoo.usecases.export import reexport

    return reexport(run_dir, format, quantize=quantize, allow_unfinished=allow_unfinished)


def predict(model: str | Path, inputs: Sequence[str | Path]) -> list[Prediction]:
    """One `Prediction` (input, probabilities, class names, note) per example in `inputs`:
    image files (converted to the model's channels and size as training did, noted), text
    files, .npy/.npz arrays, or folders of them. `model`: a run, a preset (folder, hf://,
    kaggle://), a .keras/.onnx/.tflite file or a SavedModel. Arrays with NaN/Inf or values
    out of the model's dtype range, and files over ZOO_MAX_INPUT_BYTES, are refused."""
    logs.setup()
    from zoo.usecases.predict import predict as run_prediction

    return run_prediction(model, inputs)


def publish(run_dir: str | Path, destination: str) -> str:
    """Publish a finished run as a preset (a folder, file://, hf:// or kaggle://)."""
    logs.setup()
    from zoo.presets.publish import publish as publish_run
    from zoo.presets.uris import parse

    parse(destination)  # An unknown scheme is refused before anything is loaded.
    return publish_run(run_dir, destination)


def prepare(
    recipes_folder: str | Path | None = None,
    *,
    recipes: Sequence[str | Path] = (),
    data_dir: str | None = None,
    manual_dir: str | None = None,
) -> dict[str, tuple[bool, str, list[str]]]:
    """Prepare every dataset the named `recipes` (built-in names or YAML paths) read, or
    with none every recipe in `recipes_folder` (default: the built-in ones); returns
    {dataset: (ready, message, recipes using it)}. Files zoo makes itself (mnist_mod5.npz)
    are made when missing."""
    logs.setup()
    from zoo.config import builtin
    from zoo.usecases.prepare import datasets, datasets_of, prepare_one

    if recipes:
        used = datasets_of(recipes)
    else:
        folder = Path(recipes_folder) if recipes_folder is not None else builtin.folder()
        used = datasets(folder)
    out = {}
    for name, (data, users) in sorted(used.items()):
        ready, message = prepare_one(data, data_dir, manual_dir)
        out[name] = (ready, message, users)
    return out


def search(
    recipe: str | Path,
    *,
    overrides: Sequence[str] = (),
    workers: int = 1,
    output_dir: str | Path | None = None,
    storage: str | None = None,
) -> SearchOutcome:
    """Run the recipe's `search:` study and write its table, plots and best.yaml."""
    logs.setup()
    from zoo.usecases.search import search as run_search

    outcome = run_search(
        recipe, overrides=overrides, workers=workers, output_dir=output_dir, storage=storage
    )
    assert outcome is not None  # Only worker processes get None.
    return outcome


def results(
    folders: Sequence[str | Path], *, where: Sequence[str] = (), sort: str | None = None
) -> list[Row]:
    """One row per run (finished, failed, interrupted, running, pruned), search, search
    trial and preset at or below `folders`, with its status; a folder whose records cannot
    be read is a row with status `unreadable` and the reason. `where` keeps rows meeting
    every `FIELD=VALUE` / `FIELD!=VALUE`; `sort` orders by a field (`-FIELD` descending).
    Fields are columns (status, epochs, test_accuracy, ...) or recipe fields
    (training.epochs)."""
    from zoo.usecases import results_table
    from zoo.usecases.results import collect

    rows = collect([str(f) for f in folders])
    return results_table.sort(results_table.where(rows, where), sort)


def results_table(rows: Sequence[Row], format: str = "markdown") -> str:
    """`rows` as a table: "markdown" or "csv". Columns: recipe, model, status, date,
    epochs, the recipe fields that differ between the rows, parameters, size, every test
    metric, training time, training examples/s, the fastest verified export's batch-1
    latency and format, hardware, where the folder is, and a note (why it failed, was
    pruned, ...)."""
    from zoo.usecases import results_table as table

    if format not in ("markdown", "csv"):
        raise ValueError(f"format must be 'markdown' or 'csv', not {format!r}")
    return table.to_markdown(rows) if format == "markdown" else table.to_csv(rows)


def update_results_readme(readme: str | Path, table: str) -> None:
    """Replace the table between the `<!-- zoo results: start/end -->` markers."""
    from zoo.usecases.results_table import update_readme

    update_readme(Path(readme), table)


def build_model(
    name: str, weights: str | os.PathLike[str] | None = None, **params: Any
) -> keras.Model:
    """Build the registered model `name`; unknown or ill-typed parameters raise first.

    `weights` (a preset folder, file://, hf:// or kaggle:// address) loads a preset's
    trained weights into the fresh build, through the verified preset loader; its builder
    and parameters must be the preset's (parameters left out are taken from the preset)."""
    if weights is None:
        return registry.build_model(name, **params)
    from zoo.presets.load import build_with_weights

    return build_with_weights(name, weights, **params)


def from_preset(uri: str | os.PathLike[str]) -> Preset:
    """A published preset (folder, file://, hf://, kaggle://), verified against its
    manifest: `.model` takes raw inputs, `.class_names` names its outputs."""
    from zoo.presets.load import from_preset as load_preset

    return load_preset(uri)
