"""`zoo evaluate RUN_DIR_OR_MODEL [--recipe R] [--split test] [--output-dir DIR]`

Re-scores a saved model (a run directory, `.keras` file or SavedModel) on any split of
the recipe's data with the same code the trainer uses, so on a finished run it gives
metrics.json's figures again. Writes `metrics.json` and the confusion-matrix PNG into its
own folder, `RUN_DIR/evaluation-<split>/` (a preset: `./evaluation-<preset>-<split>/`
in the current folder; or --output-dir), never into the run folder itself: a run's own
metrics.json is never replaced.

An unfinished run (killed, failed, no metrics.json) is refused unless --allow-unfinished:
it should be finished by running its train command again, which resumes it. The model
and the data are checked against each other (input shape, dtype, class count) before
anything is scored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.runs import layout

log = logging.getLogger("zoo")


SPLITS = ("train", "validation", "test")


KIND = "evaluation"


def run_folder_of(artifact: Path) -> Path | None:
    """The zoo run an artifact lies in (its `.zoo-run.json` says so), else None. A folder
    that only looks like a run or a preset (a recipe.yaml, no record) is refused."""
    from zoo.usecases.model_source import refuse_unverifiable, run_of

    refuse_unverifiable(artifact.parent)
    return run_of(artifact.parent)


def refuse_unfinished(run: Path, command: str) -> None:
    """ZooError unless `run` finished (metrics.json written, status finished)."""
    from zoo.errors import ZooError
    from zoo.runs.layout import METRICS
    from zoo.runs.status import read_status

    status = read_status(run)
    stage = status.get("stage", "finished" if (run / METRICS).is_file() else "unknown")
    if (run / METRICS).is_file() and stage == "finished":
        return
    reason = f" ({status['reason']})" if status.get("reason") else ""
    raise ZooError(
        f"{run} holds an unfinished run (stage: {stage}{reason}; no metrics.json). Finish it "
        "by running its train command again, which resumes it; or pass --allow-unfinished "
        f"to {command} it as it is (nothing is written into the run folder's own files, "
        "so it stays resumable)."
    )


def _output_folder(out: Path, run: Path | None) -> Path:
    """Check that `out` may take the report: its own folder, never a run's."""
    from zoo.errors import ZooError
    from zoo.fs import require_utf8_path
    from zoo.runs.layout import METRICS
    from zoo.runs.manifest import check_foreign, read_manifest

    require_utf8_path(out, "--output-dir")
    if run is not None and out.resolve() == run.resolve():
        raise ZooError(
            f"--output-dir {out} is the run folder itself; evaluate writes its own folder "
            f"(default {run / 'evaluation-<split>'}) and never replaces the run's metrics.json."
        )
    if out.exists() and not out.is_dir():
        raise ZooError(f"--output-dir {out} is a file, not a folder; choose another path.")
    if run is not None and out.resolve().is_relative_to(run.resolve()):
        top = out.resolve().relative_to(run.resolve()).parts[0]
        entries = (read_manifest(run) or {}).get("entries", [])
        own = read_manifest(run / top) or {}
        if top in entries and own.get("kind") != KIND:
            raise ZooError(
                f"--output-dir {out} lies in the run's own {top}; choose a new folder such "
                f"as {run / 'evaluation-<split>'}."
            )
    if out.is_dir():
        manifest = read_manifest(out)
        if (manifest is None and (out / METRICS).exists()) or (
            manifest is not None and manifest.get("kind", "run") != KIND
        ):
            raise ZooError(
                f"--output-dir {out} holds a run (its metrics.json must not be replaced); "
                "choose a new or empty folder."
            )
        check_foreign(out)
    return out


_FIT_FIX = "Pass the recipe the model was trained with (--recipe), or another model."


def check_fits(
    loaded: Any, dataset: Any, info: Any, model_path: Path, recipe: str, fix: str = _FIT_FIX
) -> None:
    """The model must take the data's inputs and predict its classes: say which differs
    (both shapes, both class counts) and `fix`, in the words of the calling command."""
    from zoo.errors import ZooError

    spec = dataset.element_spec[0]
    data_shape = tuple(spec.shape[1:])
    data_dtype = _dtype_family(spec.dtype.name)
    model_shape = tuple(loaded.input_shape)
    problems = []
    shapes_fit = len(data_shape) == len(model_shape) and all(
        m is None or d is None or int(m) < 0 or int(m) == int(d)
        for m, d in zip(model_shape, data_shape, strict=True)
    )
    if not shapes_fit:
        problems.append(
            f"the model takes inputs of shape {_shape(model_shape)}, the data gives "
            f"{_shape(data_shape)}"
        )
    if loaded.input_dtype and _dtype_family(loaded.input_dtype) != data_dtype:
        problems.append(f"the model takes {loaded.input_dtype}, the data gives {spec.dtype.name}")
    if not problems and info.num_classes:
        # A blank example of the data's shape, not a batch of the data: a half-read
        # iterator over a cached split can truncate the pass that scores it.
        outputs = loaded.predict(_blank_example(spec))
        if getattr(outputs, "ndim", 0) == 2 and outputs.shape[-1] not in (1, info.num_classes):
            problems.append(
                f"the model predicts {outputs.shape[-1]} classes, the data has {info.num_classes}"
            )
    if problems:
        raise ZooError(
            f"The data of {recipe} does not fit the model {model_path}: "
            + "; ".join(problems)
            + f". {fix}"
        )


def _blank_example(spec: Any) -> Any:
    """One all-zero (or empty-string) example shaped like `spec`, batch axis included."""
    import numpy as np

    shape = (1, *(1 if d is None else int(d) for d in spec.shape[1:]))
    if _dtype_family(spec.dtype.name) == "string":
        return np.full(shape, "", dtype=object)
    return np.zeros(shape, dtype=spec.dtype.as_numpy_dtype)


def _dtype_family(name: str) -> str:
    """ "string" or "number": a model casts any numeric input (a `.keras` model declares
    float32 and is fed uint8 pixels), but strings and numbers never mix."""
    return "string" if name in ("string", "str", "bytes", "object") else "number"


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def evaluate(
    model: str | Path,
    *,
    recipe: str | Path | None = None,
    split: str = "test",
    output_dir: str | Path | None = None,
    allow_unfinished: bool = False,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Score `model` on `split`; returns (and writes) `{split: scores, "report": {...}}`.
    For a preset, also `"preset"`: its address, sha256, own scores and the difference."""
    import json

    from zoo.config.loading import load_recipe
    from zoo.errors import ZooError
    from zoo.exporting import artifacts
    from zoo.fs import OTHER_OUTPUT_DIR, atomic_write_text, writing
    from zoo.runs.layout import RECIPE
    from zoo.runs.manifest import register

    # Cheap checks first: no TensorFlow yet.
    from zoo.usecases.model_source import refuse_unverifiable

    given = Path(model)
    preset = _preset(model)
    if preset is None:
        refuse_unverifiable(given)
    if preset is not None:
        folder, _ = preset
        artifact, run = folder / layout.MODEL, None
        recipe = recipe if recipe is not None else folder / RECIPE
        if output_dir is None:
            output_dir = Path(layout.evaluation_folder(split, _preset_name(folder)))
    run = given if preset is None and given.is_dir() and run_folder_of(given / RECIPE) else None
    if run is not None and not allow_unfinished:  # Before "holds no model": say why.
        refuse_unfinished(run, "evaluate")
    if preset is None:
        artifact, _ = artifacts.locate(model)
        run = run or run_folder_of(artifact)
    if run is not None and not allow_unfinished:
        refuse_unfinished(run, "evaluate")
    if recipe is None and run is None:
        raise ZooError(f"{artifact} is not in a run directory; pass --recipe RECIPE.yaml.")
    if recipe is not None and not Path(recipe).is_file():
        raise ZooError(f"--recipe {recipe}: no such file; give the recipe YAML the model used.")
    recipe_path = Path(recipe) if recipe is not None else run / RECIPE
    out = Path(output_dir) if output_dir else (run or Path(".")) / layout.evaluation_folder(split)
    _output_folder(out, run)
    config = load_recipe(recipe_path, overrides)

    from zoo.data import load as load_data
    from zoo.data.pipeline_errors import explained
    from zoo.evaluation import report, scoring

    loaded = artifacts.load(artifact)
    from zoo.data.preprocessing.text import saved_vocabulary

    bundle = load_data(
        config.data,
        batch_size=config.training.batch_size,
        seed=config.seed,
        vocabulary=saved_vocabulary(run),  # The run's own: never adapt again.
    )
    dataset = bundle.split(split)
    if dataset is None:
        raise ZooError(
            f"The recipe {recipe_path} gives no {split!r} split (data.splits); choose another "
            "--split."
        )
    with explained(bundle, config.data, out, f"the evaluation of the {split} split"):
        check_fits(loaded, dataset, bundle.info, artifact, str(recipe_path))
        labels, probs = scoring.collect(loaded.predict, dataset)
    metrics = config.evaluation.metrics
    scores, split_report = scoring.score(
        labels,
        probs,
        loss=config.training.loss,
        metrics=config.training.metrics if metrics is None else metrics,
        class_names=bundle.info.class_names,
    )
    result: dict[str, Any] = {split: scores, "model": str(loaded.path)}
    if preset is not None:
        result["preset"] = _compare(str(model), preset[0], split, scores)
    with writing(out, OTHER_OUTPUT_DIR):
        out.mkdir(parents=True, exist_ok=True)
    if run is not None and out.resolve().is_relative_to(run.resolve()):
        with writing(run, OTHER_OUTPUT_DIR):
            register(run, out.resolve().relative_to(run.resolve()).parts[0])
    register(out, layout.METRICS, kind=KIND)
    if split_report is not None:
        result["report"] = {split: split_report}
        register(out, layout.confusion_matrix(split), kind=KIND)
        with writing(out, OTHER_OUTPUT_DIR):
            report.write_split_report(out, split, split_report, f"{config.name} ({loaded.kind})")
    if preset is not None:
        register(out, "evaluation.md", kind=KIND)
        atomic_write_text(out / "evaluation.md", _note(result["preset"], split, scores))
    atomic_write_text(out / layout.METRICS, json.dumps(result, indent=2) + "\n")
    log.info("report: %s", out)
    return result


def _preset(model: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """(verified folder, manifest) when `model` is a preset address; else None."""
    from zoo.presets import uris
    from zoo.usecases.model_source import is_preset_address

    if not is_preset_address(model):
        return None
    return uris.resolve(str(model))


def _preset_name(folder: Path) -> str:
    from zoo.presets import format as fmt

    return str(fmt.read_manifest(folder).get("name") or folder.name)


def _compare(uri: str, folder: Path, split: str, scores: dict[str, float]) -> dict[str, Any]:
    """The preset's own scores on `split` (its metrics.json) and ours minus them."""
    from zoo.presets import format as fmt
    from zoo.runs.records import read_metrics

    own = read_metrics(folder / fmt.METRICS).scores(split)
    return {
        "uri": uri,
        "sha256": fmt.manifest_hash(folder),
        "published": own,
        "difference": {
            k: v - own[k] for k, v in scores.items() if isinstance(own.get(k), float | int)
        },
    }


def _note(preset: dict[str, Any], split: str, scores: dict[str, float]) -> str:
    rows = [
        f"| {k} | {preset['published'].get(k, float('nan')):.4f} | {v:.4f} | "
        f"{preset['difference'].get(k, float('nan')):+.4f} |"
        for k, v in scores.items()
    ]
    return "\n".join(
        [
            f"# Re-scoring preset `{preset['uri']}` on `{split}`",
            "",
            f"Preset sha256 (manifest.json): `{preset['sha256']}`",
            "",
            "| metric | published | now | difference |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )
