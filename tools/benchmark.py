"""Speed figures for zoo on the MNIST CNN, printed as a table and saved as JSON.

    python tools/benchmark.py [--sections overhead,pipeline,accuracy,startup,options]
                              [--tiny] [--json benchmark.json]

Sections: overhead (zoo's trainer vs a hand-written Keras compile/fit, alternated),
pipeline (tf.data examples/s alone vs what the model consumes), accuracy (wall time to
99.0% / 99.2% test accuracy), startup (`python -m zoo.train --help` / `--dry-run`),
options (jit_compile, steps_per_execution, mixed_bfloat16). `--tiny` runs every section
on a few batches of a slice of MNIST: it checks the tool works and measures nothing.
A benchmark, not a test: it reports figures and their targets and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "recipes" / "mnist_cnn.yaml"
SECTIONS = ("overhead", "pipeline", "accuracy", "startup", "options")
sys.path.insert(0, str(REPO))  # Benchmark the checkout this tool lives in.
REFERENCE = "keras.io MNIST convnet: 99.22% test accuracy after 15 epochs"


@dataclass(frozen=True)
class Setting:
    """How much work each section does: `full` for figures, `tiny` to smoke-test."""

    data: tuple[str, ...]
    steps: int  # steps per epoch in the timed fits
    # Overhead fits use the recipe's real epoch length: the trainer's per-epoch work
    # (best-checkpoint write, CSV row) is amortised over an epoch, as in real training.
    overhead_steps: int
    epochs: int  # epochs per timed fit (the first includes tracing)
    repeats: int
    accuracy_epochs: int
    startup_repeats: int
    pipeline_batches: int | None  # batches read per pipeline pass; None: a full epoch
    pipeline_only_mnist: bool  # tiny: skip the other recipes' data


FULL = Setting(
    data=("data.splits.validation=null",),
    steps=100,
    overhead_steps=859,  # 55,000 training images / batch 64
    epochs=3,
    repeats=3,
    accuracy_epochs=15,
    startup_repeats=5,
    pipeline_batches=None,
    pipeline_only_mnist=False,
)
TINY = Setting(
    data=(
        "data.splits.train=train[:512]",
        "data.splits.validation=null",
        "data.splits.test=test[:256]",
        "data.shuffle_buffer=512",
        # 8 steps in all: the recipe's 200-step warm-up would keep the rate near zero.
        "training.optimizer.learning_rate.warmup_steps=2",
    ),
    steps=3,
    overhead_steps=3,
    epochs=2,
    repeats=1,
    accuracy_epochs=1,
    startup_repeats=1,
    pipeline_batches=4,
    pipeline_only_mnist=True,
)
QUIET = ("export.saved_model=false", "export.keras=false")


def _recipe(setting: Setting, *overrides: str, recipe_path: Path = RECIPE):
    from zoo import load_recipe

    return load_recipe(recipe_path, [*setting.data, *QUIET, *overrides])


class EpochClock:
    """A Keras callback keeping each epoch's wall time (the first includes tracing)."""

    def __new__(cls):
        import keras

        class _Clock(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.seconds: list[float] = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._start)

        return _Clock()


def _steady_rate(clock, examples_per_epoch: int) -> float:
    """Examples/s over the epochs after the first (all of them if there is only one)."""
    seconds = clock.seconds[1:] or clock.seconds
    return examples_per_epoch * len(seconds) / sum(seconds)


def _zoo_fit(recipe, *callbacks) -> float:
    """Fit through zoo's trainer; returns its fit seconds."""
    from zoo.training import trainer

    with tempfile.TemporaryDirectory() as tmp:
        result = trainer.run(recipe, output_dir=tmp, verbose=0, callbacks=callbacks)
    return result.metrics["training"]["seconds"]


def _plain_fit(recipe, *callbacks) -> float:
    """The same model, data, batch and steps as a hand-written Keras script would fit."""
    import keras

    from zoo import data

    keras.utils.set_random_seed(recipe.seed)
    t = recipe.training
    train = data.load(recipe.data, batch_size=t.batch_size, seed=recipe.seed).train.repeat()
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    total = t.steps_per_epoch * t.epochs
    lr = keras.optimizers.schedules.CosineDecay(
        0.0, max(1, total - 200), warmup_target=0.002, warmup_steps=200
    )
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        train,
        epochs=t.epochs,
        steps_per_epoch=t.steps_per_epoch,
        callbacks=list(callbacks),
        verbose=0,
    )
    return time.perf_counter() - start


def _checkpoint_write_seconds(repeats: int = 5) -> float:
    """Median time to write the model as `.keras`: the zoo's per-epoch best checkpoint."""
    import keras

    from zoo import build_model

    model = build_model("mnist_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)  # Saved with its slot variables.
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            start = time.perf_counter()
            model.save(Path(tmp) / "best.keras")
            times.append(time.perf_counter() - start)
    keras.backend.clear_session()
    return statistics.median(times)


def overhead(s: Setting) -> dict[str, Any]:
    steps = s.overhead_steps
    recipe = _recipe(s, f"training.steps_per_epoch={steps}", f"training.epochs={s.epochs}")
    per_epoch = recipe.training.batch_size * steps
    zoo_s, plain_s, zoo_rates, plain_rates = [], [], [], []
    for _ in range(s.repeats):  # Alternate, so drift on a shared machine hits both.
        # Steady state: epochs after the first, which traces and fills the shuffle buffer.
        zoo_clock, plain_clock = EpochClock(), EpochClock()
        zoo_s.append(_zoo_fit(recipe, zoo_clock))
        plain_s.append(_plain_fit(recipe, plain_clock))
        zoo_rates.append(_steady_rate(zoo_clock, per_epoch))
        plain_rates.append(_steady_rate(plain_clock, per_epoch))
    zoo_rate = statistics.median(zoo_rates)
    plain_rate = statistics.median(plain_rates)
    checkpoint_s = _checkpoint_write_seconds()
    epoch_s = per_epoch / plain_rate
    return {
        # The zoo's one extra per-epoch cost, as a share of a plain epoch: what the ratio
        # should come to if nothing else differs.
        "checkpoint_write_s": checkpoint_s,
        "expected_ratio_from_checkpoint": epoch_s / (epoch_s + checkpoint_s),
        "zoo_examples_per_s": zoo_rate,
        "plain_keras_examples_per_s": plain_rate,
        "ratio": zoo_rate / plain_rate,
        "target": ">= 0.97",
        "zoo_fit_seconds": zoo_s,
        "plain_fit_seconds": plain_s,
        "zoo_steady_examples_per_s": zoo_rates,
        "plain_steady_examples_per_s": plain_rates,
        "steps_per_epoch": steps,
        "examples_per_fit": per_epoch * s.epochs,
    }


def _recipe_headroom(recipe, s: Setting) -> dict[str, Any]:
    """tf.data examples/s of one recipe's training pipeline (preprocessing included, no
    model) against the examples/s its model trains at on a batch already in memory."""
    import keras
    import tensorflow as tf

    from zoo import build_model, data
    from zoo.evaluation import losses_and_metrics
    from zoo.models.registry import with_data_params
    from zoo.training import compiling

    t = recipe.training
    bundle = data.load(recipe.data, batch_size=t.batch_size, seed=recipe.seed)
    train = bundle.model_ready("train")
    passes = []
    for _ in range(2):  # The first pass reads files and fills the cache.
        start, n = time.perf_counter(), 0
        for i, (x, _) in enumerate(train):
            n += int(tf.nest.flatten(x)[0].shape[0])
            if s.pipeline_batches and i + 1 >= s.pipeline_batches:
                break
        passes.append(n / (time.perf_counter() - start))
    batch = next(iter(train))
    keras.utils.set_random_seed(recipe.seed)
    model = build_model(
        recipe.model.name,
        **with_data_params(recipe.model.name, recipe.model.params, bundle.info.model_params()),
    )
    model.compile(
        optimizer=compiling.optimizer(t, s.steps),
        loss=losses_and_metrics.loss(t.loss),
        metrics=losses_and_metrics.metrics(t.metrics),
        **compiling.compile_options(t),
    )
    clock = EpochClock()
    model.fit(
        tf.data.Dataset.from_tensors(batch).repeat(),  # No input cost: the model alone.
        epochs=s.epochs,
        steps_per_epoch=s.steps,
        callbacks=[clock],
        verbose=0,
    )
    consumed = _steady_rate(clock, t.batch_size * s.steps)
    keras.backend.clear_session()
    return {
        "pipeline_first_pass_examples_per_s": passes[0],
        "pipeline_examples_per_s": passes[1],
        "model_examples_per_s": consumed,
        "headroom": passes[1] / consumed,
    }


def pipeline(s: Setting) -> dict[str, Any]:
    """Headroom of every shipped recipe whose data is on this machine (MNIST-CNN first)."""
    from zoo.errors import ZooError
    from zoo.usecases.listing import load_recipes

    out: dict[str, Any] = {"target": ">= 3", "recipes": {}}
    for path, full in load_recipes(REPO / "recipes"):
        if full is None or (s.pipeline_only_mnist and path != RECIPE):
            continue
        name = path.name
        try:
            recipe = _recipe(s, recipe_path=path) if path == RECIPE else full
            out["recipes"][name] = _recipe_headroom(recipe, s)
        except ZooError as exc:  # Data not on this machine (e.g. needs a download).
            out["recipes"][name] = {"unavailable": str(exc).splitlines()[0][:200]}
    mnist = out["recipes"][RECIPE.name]
    out.update(mnist)  # The MNIST CNN's figures at the top level, as before.
    return out


def accuracy(s: Setting) -> dict[str, Any]:
    import keras

    from zoo import data

    recipe = _recipe(
        s, f"training.epochs={s.accuracy_epochs}", "training.callbacks.early_stopping=null"
    )
    test = data.load(recipe.data, batch_size=256, seed=recipe.seed).test
    targets = (0.990, 0.992)

    class TestEachEpoch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.eval_s = time.perf_counter(), 0.0
            self.curve: list[dict[str, float]] = []

        def on_epoch_end(self, epoch, logs=None):
            t0 = time.perf_counter()
            train_s = t0 - self.start - self.eval_s  # Wall time less earlier evaluations.
            acc = self.model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
            self.eval_s += time.perf_counter() - t0
            self.curve.append({"epoch": epoch + 1, "test_accuracy": acc, "train_s": train_s})

    cb = TestEachEpoch()
    _zoo_fit(recipe, cb)
    reached = {}
    for target in targets:
        hit = next((p for p in cb.curve if p["test_accuracy"] >= target), None)
        reached[f"{target:.1%}"] = (
            {"epoch": hit["epoch"], "train_seconds": hit["train_s"]} if hit else None
        )
    return {
        "reached": reached,
        "curve": cb.curve,
        "best_test_accuracy": max(p["test_accuracy"] for p in cb.curve),
        "reference": REFERENCE,
    }


def startup(s: Setting) -> dict[str, Any]:
    out = {}
    commands = {
        "--help": ["--help"],
        "--dry-run": [str(RECIPE.relative_to(REPO)), "--dry-run"],
    }
    for label, args in commands.items():
        times = []
        for _ in range(s.startup_repeats):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "zoo.train", *args],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
        out[label] = {"median_s": statistics.median(times), "min_s": min(times)}
    out["target"] = "< 1.5 s"
    return out


def options(s: Setting) -> dict[str, Any]:
    variants = {
        "default (jit auto)": (),
        "jit_compile=true": ("training.jit_compile=true",),
        "jit_compile=false": ("training.jit_compile=false",),
        "steps_per_execution=8": ("training.steps_per_execution=8",),
        "mixed_bfloat16": ("training.mixed_precision=mixed_bfloat16",),
    }
    out = {}
    for label, extra in variants.items():
        recipe = _recipe(
            s, f"training.steps_per_epoch={s.steps}", f"training.epochs={s.epochs}", *extra
        )
        clock = EpochClock()
        _zoo_fit(recipe, clock)
        out[label] = _steady_rate(clock, recipe.training.batch_size * s.steps)
    return out


def machine() -> str:
    """The machine line every benchmark prints above its figures."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def _table(results: dict[str, Any]) -> str:
    rows = []
    if "overhead" in results:
        r = results["overhead"]
        rows += [
            ("overhead", "zoo trainer examples/s", f"{r['zoo_examples_per_s']:.0f}"),
            ("overhead", "plain Keras examples/s", f"{r['plain_keras_examples_per_s']:.0f}"),
            ("overhead", "ratio zoo/plain (target >= 0.97)", f"{r['ratio']:.3f}"),
            (
                "overhead",
                "per-epoch checkpoint write",
                f"{r['checkpoint_write_s'] * 1000:.0f} ms "
                f"(alone would give {r['expected_ratio_from_checkpoint']:.3f})",
            ),
        ]
    if "pipeline" in results:
        r = results["pipeline"]
        rows += [
            ("pipeline", "tf.data examples/s (cached)", f"{r['pipeline_examples_per_s']:.0f}"),
            (
                "pipeline",
                "tf.data examples/s (1st pass)",
                f"{r['pipeline_first_pass_examples_per_s']:.0f}",
            ),
            ("pipeline", "model consumes examples/s", f"{r['model_examples_per_s']:.0f}"),
            ("pipeline", "headroom (target >= 3)", f"{r['headroom']:.1f}x"),
        ]
        for name, fig in r["recipes"].items():
            if name == RECIPE.name:
                continue
            value = (
                f"{fig['headroom']:.1f}x ({fig['pipeline_examples_per_s']:.0f} vs "
                f"{fig['model_examples_per_s']:.0f} examples/s)"
                if "headroom" in fig
                else f"data unavailable: {fig['unavailable'][:60]}"
            )
            rows.append(("pipeline", f"headroom {name}", value))
    if "accuracy" in results:
        r = results["accuracy"]
        for target, hit in r["reached"].items():
            value = f"{hit['train_seconds']:.0f} s (epoch {hit['epoch']})" if hit else "not reached"
            rows.append(("accuracy", f"train time to {target} test acc", value))
        rows.append(("accuracy", "best test accuracy", f"{r['best_test_accuracy']:.4f}"))
        rows.append(("accuracy", "reference", REFERENCE))
    if "startup" in results:
        r = results["startup"]
        for label in ("--help", "--dry-run"):
            rows.append(
                ("startup", f"zoo.train {label} (target < 1.5 s)", f"{r[label]['median_s']:.2f} s")
            )
    for label, rate in results.get("options", {}).items():
        rows.append(("options", f"{label} examples/s", f"{rate:.0f}"))
    width = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:9} {b:{width}}  {c}" for a, b, c in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated, from: {', '.join(SECTIONS)} (default: all)",
    )
    p.add_argument("--tiny", action="store_true", help="a few batches: checks the tool runs")
    p.add_argument("--json", type=Path, default=Path("benchmark.json"), help="output JSON file")
    args = p.parse_args(argv)
    chosen = [x.strip() for x in args.sections.split(",") if x.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        print(
            f"error: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}",
            file=sys.stderr,
        )
        return 2
    from zoo.logs import quiet_tensorflow

    quiet_tensorflow()  # Start-up lines held back as the zoo command does; a set level wins.
    setting = TINY if args.tiny else FULL
    functions = {name: globals()[name] for name in SECTIONS}
    results: dict[str, Any] = {}
    for name in chosen:
        start = time.perf_counter()
        results[name] = functions[name](setting)
        print(f"[{name}: {time.perf_counter() - start:.0f} s]", file=sys.stderr, flush=True)
    print(f"machine: {machine()}{' (tiny setting: not figures)' if args.tiny else ''}")
    print(_table(results))
    payload = {"machine": machine(), "tiny": args.tiny, "results": results}
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
