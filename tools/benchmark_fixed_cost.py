"""What a `zoo train` run costs beyond the training itself, measured as whole processes.

    python tools/benchmark_fixed_cost.py [--pairs 3] [--epochs 2] [--batch-size 128]
        [--grow 4] [--json F]

Each pair runs, one after the other (their order alternating pair to pair), the same
MNIST convnet two ways:
- `zoo train mnist_cnn` (data check, training, test evaluation, Keras + SavedModel export,
  each verified in a fresh process, card and plots), and
- the same model written in plain Keras (tfds.load, compile, fit, evaluate on test),
both reading MNIST prepared by TFDS. Wall time and CPU time (user + system, the process
and its children) are taken per process; the table gives the medians and their ratios,
and zoo's own split of its time by stage (its `time by stage:` log line). `--grow N` adds
one pair at N epochs: the fixed cost is paid once per run, so its share falls as the run
grows. Targets (issue 20): CPU ratio <= 1.10, wall ratio <= 1.15.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PLAIN = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, tensorflow as tf, tensorflow_datasets as tfds
epochs, batch = int(sys.argv[1]), int(sys.argv[2])
keras.utils.set_random_seed(42)
def split(name, training):
    ds = tfds.load("mnist", split=name, as_supervised=True)
    ds = ds.cache()
    if training:
        ds = ds.shuffle(60000, seed=42)
    return ds.batch(batch).prefetch(tf.data.AUTOTUNE)
train, val, test = split("train[:55000]", True), split("train[55000:]", False), split("test", False)
layers = keras.layers
inputs = keras.Input((28, 28, 1))
x = layers.Rescaling(1 / 255)(inputs)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(64, 3, activation="relu")(x)
x = layers.MaxPooling2D()(x)
x = layers.Flatten()(x)
x = layers.Dense(128, activation="relu")(x)
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
steps = epochs * (55000 // batch + 1)
lr = keras.optimizers.schedules.CosineDecay(0.0, steps, warmup_target=0.002, warmup_steps=200)
loss = "sparse_categorical_crossentropy"
model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=["accuracy"])
model.fit(train, epochs=epochs, validation_data=val, verbose=2)
print("test", model.evaluate(test, verbose=0))
"""


def _timed(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and its children, its output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = log.read_text()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{text[-3000:]}")
    return wall, cpu, text


def _pair(epochs: int, batch: int, work: Path, env: dict[str, str], zoo_first: bool) -> dict:
    zoo_cmd = [
        sys.executable, "-m", "zoo", "train", "mnist_cnn",
        "--set", f"training.epochs={epochs}", "--set", f"training.batch_size={batch}",
        "--output-dir", str(Path(tempfile.mkdtemp(dir=work)) / "run"),
    ]  # fmt: skip
    plain_cmd = [sys.executable, "-c", PLAIN, str(epochs), str(batch)]
    runs = [("zoo", zoo_cmd), ("plain", plain_cmd)]
    out: dict = {}
    for name, cmd in runs if zoo_first else runs[::-1]:
        wall, cpu, text = _timed(cmd, env, work / f"{name}.log")
        out[name] = {"wall": wall, "cpu": cpu}
        if name == "zoo":
            found = re.search(r"time by stage: (.*)", text)
            out["stages"] = found.group(1) if found else ""
    return out


def _describe(pair: dict) -> str:
    z, pl = pair["zoo"], pair["plain"]
    return (
        f"zoo {z['wall']:.1f} s wall / {z['cpu']:.1f} s CPU, plain {pl['wall']:.1f} / "
        f"{pl['cpu']:.1f} (ratios {z['wall'] / pl['wall']:.2f} / {z['cpu'] / pl['cpu']:.2f}); "
        f"zoo stages: {pair['stages']}"
    )


def _describe(pair: dict) -> str:
    z, pl = pair["zoo"], pair["plain"]
    return (
        f"zoo {z['wall']:.1f} s wall / {z['cpu']:.1f} s CPU, plain {pl['wall']:.1f} / "
        f"{pl['cpu']:.1f} (ratios {z['wall'] / pl['wall']:.2f} / {z['cpu'] / pl['cpu']:.2f}); "
        f"zoo stages: {pair['stages']}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--grow", type=int, default=0, help="one more pair at this many epochs")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.setdefault("ZOO_TFDS_MANUAL_DIR", str(REPO.parent / "shared" / "data" / "tfds-manual"))
    work = Path(tempfile.mkdtemp(prefix="zoo-fixed-cost-"))
    pairs = [_pair(args.epochs, args.batch_size, work, env, i % 2 == 0) for i in range(args.pairs)]
    med = {
        who: {k: statistics.median(p[who][k] for p in pairs) for k in ("wall", "cpu")}
        for who in ("zoo", "plain")
    }
    result = {
        "epochs": args.epochs,
        "pairs": pairs,
        "median": med,
        "cpu_ratio": med["zoo"]["cpu"] / med["plain"]["cpu"],
        "wall_ratio": med["zoo"]["wall"] / med["plain"]["wall"],
    }
    print(f"| {args.epochs} epochs, batch {args.batch_size} | zoo | plain Keras | ratio |")
    print("|---|---|---|---|")
    for k in ("wall", "cpu"):
        z, pl = med["zoo"][k], med["plain"][k]
        label = f"median {k} s ({args.pairs} alternating pairs)"
        print(f"| {label} | {z:.1f} | {pl:.1f} | {z / pl:.2f} |")
    for i, pair in enumerate(pairs):
        print(f"pair {i}: {_describe(pair)}")
    print(
        f"targets: CPU ratio <= 1.10: {result['cpu_ratio']:.2f}; "
        f"wall ratio <= 1.15: {result['wall_ratio']:.2f}"
    )
    if args.grow:
        grown = _pair(args.grow, args.batch_size, work, env, True)
        result["grown"] = grown
        print(f"at {args.grow} epochs: {_describe(grown)}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
