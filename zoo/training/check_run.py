"""`zoo train RECIPE --check`: the whole recipe, end to end, on one batch, in seconds.

Modelled on Lightning's `fast_dev_run`: load the data (the data check always on), build
and compile the model, run one training step and one evaluation step on one batch of
each split, export the model (Keras and SavedModel) into a temporary folder, reload it
and compare its outputs with the model in memory. Every stage reports ok and its
seconds; the first defect ends the check as a ZooError (exit 2) naming the stage. Nothing
is written outside the temporary folder (no run directory); only data caches (TFDS
preparation, archive extraction) fill as a real run would fill them.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError

if TYPE_CHECKING:
    from zoo.config.schema import Recipe

log = logging.getLogger("zoo")

# Max |difference| in probability between the reloaded export and the model in memory.
TOLERANCE = 1e-4


@dataclass
class Stage:
    name: str
    seconds: float
    detail: str


@dataclass
class CheckRunReport:
    """Each stage that passed, in order."""

    stages: list[Stage] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages)

    def lines(self) -> list[str]:
        width = max((len(s.name) for s in self.stages), default=0)
        out = [f"check: {s.name:<{width}}  ok  {s.seconds:5.1f} s  {s.detail}" for s in self.stages]
        out.append(
            f"check: passed in {self.seconds:.1f} s; nothing written outside a temporary folder"
        )
        return out


class _Stages:
    """Times each stage and turns an unexpected failure into a ZooError naming it."""

    def __init__(self) -> None:
        self.report = CheckRunReport()

    @contextmanager
    def stage(self, name: str) -> Iterator[Callable[[str], None]]:
        detail: list[str] = [""]
        log.info("check: %s ...", name)  # Progress, should a stage take long.
        start = time.perf_counter()
        try:
            yield lambda text: detail.__setitem__(0, text)
        except ZooError as exc:  # Keeps its type (and exit code); the message names the stage.
            exc.args = (f"--check failed at {name}: {exc}", *exc.args[1:])
            raise
        except Exception as exc:  # A defect met by the recipe's own code path.
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            raise ZooError(
                f"--check failed at {name}: {type(exc).__name__}: {first}. A full run would "
                "fail the same way; fix the recipe or the data before training."
            ) from None
        seconds = time.perf_counter() - start
        self.report.stages.append(Stage(name, seconds, detail[0]))


def _finite(value: Any, what: str) -> float:
    import math

    number = float(value)
    if not math.isfinite(number):
        raise ZooError(
            f"{what} is {number}: the model cannot learn from this data with this recipe "
            "(check the inputs' scale, the learning rate, the loss)."
        )
    return number


def check_run(recipe: Recipe) -> CheckRunReport:
    """Run every stage of `recipe` once on one batch; raises ZooError at the first defect."""
    import keras
    import numpy as np

    from zoo import data as zoo_data
    from zoo.evaluation import losses_and_metrics, scoring
    from zoo.exporting import artifacts
    from zoo.exporting import writers as export
    from zoo.models.registry import build_model, with_data_params
    from zoo.training import compiling

    stages = _Stages()
    keras.utils.set_random_seed(recipe.seed)
    batch = recipe.training.batch_size
    with stages.stage("data") as say:
        data = recipe.data.model_copy(update={"check": True})
        bundle = zoo_data.load(data, batch_size=batch, seed=recipe.seed)
        info = bundle.info
        missing = [s for s in recipe.evaluation.splits if bundle.split(s) is None]
        if missing:
            raise ZooError(
                f"evaluation.splits names {', '.join(missing)}, but data.splits gives no "
                "such split; add it under data.splits or remove it from evaluation.splits."
            )
        counts = ", ".join(f"{k} {v:,}" for k, v in info.num_examples.items())
        say(f"{counts} examples; {info.num_classes} classes; data check passed")

    with stages.stage("model") as say:
        train_steps = compiling.steps_per_epoch(
            info.num_examples["train"], batch, recipe.training.steps_per_epoch
        )
        with compiling.precision_policy(recipe.training.mixed_precision):
            model = build_model(
                recipe.model.name,
                **with_data_params(recipe.model.name, recipe.model.params, info.model_params()),
            )
            model.compile(
                optimizer=compiling.optimizer(recipe.training, train_steps, 1),
                loss=losses_and_metrics.loss(recipe.training.loss),
                metrics=losses_and_metrics.metrics(recipe.training.metrics),
                **compiling.compile_options(recipe.training),
            )
        say(f"{recipe.model.name}, {model.count_params():,} parameters")

    with stages.stage("training step") as say:
        x, y = next(iter(bundle.model_ready("train")))
        logs = model.train_on_batch(x, y, return_dict=True)
        loss = _finite(logs["loss"], "the training loss on the first batch")
        say(f"loss {loss:.4f} on one batch of {len(y)}")

    model = export.with_preprocessor(model, bundle.preprocessor, info)
    predict = scoring.predictor(model)
    eval_metrics = recipe.evaluation.metrics
    if eval_metrics is None:
        eval_metrics = recipe.training.metrics
    with stages.stage("evaluation step") as say, warnings.catch_warnings():
        parts = []
        for split in ("validation", "test"):
            ds = bundle.split(split)
            if ds is None:
                continue
            labels, probs = scoring.collect(predict, ds.take(1))
            warnings.simplefilter("ignore", RuntimeWarning)  # One batch may miss a class.
            _finite(np.max(np.abs(probs)), f"the {split} predictions")
            scores, _ = scoring.score(
                labels,
                probs,
                loss=recipe.training.loss,
                metrics=eval_metrics,
                class_names=info.class_names,
            )
            shown = ", ".join(f"{k}={v:.3f}" for k, v in list(scores.items())[:3])
            parts.append(f"{split}: {shown}")
        say("; ".join(parts) or "no validation or test split")

    sample_split = next(s for s in ("test", "validation", "train") if bundle.split(s))
    sample_x, _ = next(iter(bundle.split(sample_split).take(1)))
    sample = sample_x.numpy()
    expected = predict(sample)
    with tempfile.TemporaryDirectory(prefix="zoo-check-") as tmp:
        written: dict[str, Path] = {}
        with stages.stage("export") as say:
            written["keras"] = export.save_keras(model, Path(tmp) / "model.keras")
            written["saved_model"] = export.save_saved_model(model, Path(tmp) / "saved_model", info)
            say(", ".join(written) + " into a temporary folder")
        with stages.stage("reload") as say:
            worst = 0.0
            for kind, path in written.items():
                got = np.asarray(artifacts.load(path).predict(sample))
                if got.shape != expected.shape:
                    raise ZooError(
                        f"the reloaded {kind} export gives outputs of shape {got.shape}, "
                        f"the model in memory {expected.shape}."
                    )
                diff = float(np.max(np.abs(got - expected)))
                if not diff <= TOLERANCE:
                    raise ZooError(
                        f"the reloaded {kind} export differs from the model in memory by "
                        f"{diff:.2e} (tolerance {TOLERANCE:g}) on {len(sample)} {sample_split} "
                        "examples."
                    )
                worst = max(worst, diff)
            say(f"outputs match on {len(sample)} {sample_split} examples (max |diff| {worst:.1e})")
    return stages.report
