"""Distribution figures: training speed per strategy, and what a kill-and-resume costs.

    python tools/benchmark_distribution.py [--recipe R] [--steps 100] [--epochs 3]
        [--sections speed,resume] [--json out.json]

`speed`: steps/second of the recipe on one device, on 2 logical CPU devices (mirrored),
and on a 2-worker loopback cluster (tools/local_cluster.py), each a fresh `zoo.train`
process with the same global batch and a fixed number of steps per epoch. The figure is
Keras's own ms/step of the last epoch (the first one traces and fills the cache).
`resume`: one uninterrupted run, and one SIGKILLed in epoch 2 then re-run with the same
command: the epoch it was killed in, the epochs run after resuming, and both final test
accuracies. A benchmark, not a test: it asserts nothing. Wrap it in
`flock /tmp/zoo-heavy.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATA = [
    "data.splits.train=train[:6400]",
    "data.splits.validation=train[6400:7400]",
    "data.splits.test=test[:2000]",
]
NO_EXPORT = ["export.saved_model=false", "export.keras=false"]
_MS_PER_STEP = re.compile(r"(\d+)/\1 - \d+s - (\d+)(m?s)/step")


def _sets(values: list[str]) -> list[str]:
    return [a for v in values for a in ("--set", v)]


def _train_args(recipe: str, run_dir: Path, sets: list[str]) -> list[str]:
    return [recipe, "-q", "--output-dir", str(run_dir), *_sets(sets)]


def _run(cmd: list[str]) -> str:
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    text = out.stdout + out.stderr
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}\n{text[-3000:]}")
    return text


def _last_steps_per_second(log: str) -> float:
    found = _MS_PER_STEP.findall(log)
    if not found:
        raise SystemExit(f"no 'N/N - Ts - Xms/step' line in the output:\n{log[-2000:]}")
    _, value, unit = found[-1]
    seconds = int(value) / (1000 if unit == "ms" else 1)
    return round(1 / seconds, 1)


def speed(recipe: str, steps: int, epochs: int, work: Path) -> dict[str, float]:
    sets = [*DATA, *NO_EXPORT, f"training.epochs={epochs}", f"training.steps_per_epoch={steps}"]
    train = [PYTHON, "-m", "zoo.train"]
    cluster = [PYTHON, str(REPO / "tools" / "local_cluster.py"), "--workers", "2"]
    mirrored = [*sets, "distribution.strategy=mirrored", "distribution.cpu_devices=2"]
    configs = {
        "one device": [*train, *_train_args(recipe, work / "one", sets)],
        "mirrored, 2 logical CPUs": [*train, *_train_args(recipe, work / "mirrored", mirrored)],
        "2-worker cluster": [*cluster, *_train_args(recipe, work / "cluster", sets)],
    }
    figures = {}
    for name, cmd in configs.items():
        log = _run(cmd)
        if name == "2-worker cluster":  # The chief's line; the other worker's is the same.
            log = "\n".join(line for line in log.splitlines() if line.startswith("[worker 0]"))
        figures[name] = _last_steps_per_second(log)
        print(f"{name:>26}: {figures[name]:7.1f} steps/s", flush=True)
    return figures


def resume(recipe: str, epochs: int, work: Path) -> dict[str, object]:
    sets = [*DATA, *NO_EXPORT, f"training.epochs={epochs}"]
    train = [PYTHON, "-m", "zoo.train"]
    _run(train + _train_args(recipe, work / "plain", sets))
    killed_dir = work / "killed"
    cmd = train + _train_args(recipe, killed_dir, sets)
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backup = killed_dir / "backup"
    while not list(backup.glob("epoch-*.weights.h5")):
        if proc.poll() is not None:
            raise SystemExit("the run ended before its first backup")
        time.sleep(0.02)
    time.sleep(0.3)  # Well inside epoch 2.
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _run(cmd)
    plain = json.loads((work / "plain" / "metrics.json").read_text())
    resumed = json.loads((killed_dir / "metrics.json").read_text())
    after = resumed["training"]["resumed_after_epoch"]
    rows = (killed_dir / "history.csv").read_text().splitlines()[1:]
    figures = {
        "killed in epoch": after + 1,
        "epochs run after resuming": epochs - after,
        "history epochs": [int(r.split(",")[0]) + 1 for r in rows],
        "test accuracy, uninterrupted": round(plain["test"]["accuracy"], 4),
        "test accuracy, killed and resumed": round(resumed["test"]["accuracy"], 4),
        "test loss, uninterrupted": round(plain["test"]["loss"], 4),
        "test loss, killed and resumed": round(resumed["test"]["loss"], 4),
    }
    for name, value in figures.items():
        print(f"{name:>34}: {value}", flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="recipes/mnist_cnn.yaml")
    p.add_argument("--steps", type=int, default=100, help="steps per epoch (speed)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--sections", default="speed,resume")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    from zoo.logs import quiet_tensorflow

    quiet_tensorflow()  # Start-up lines held back as the zoo command does; a set level wins.
    sections = set(args.sections.split(","))
    if not sections <= {"speed", "resume"}:
        p.error(f"unknown section(s) {sorted(sections - {'speed', 'resume'})}; use speed,resume")
    results: dict[str, object] = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="zoo-bench-dist-") as tmp:
        if "speed" in sections:
            results["speed"] = speed(args.recipe, args.steps, args.epochs, Path(tmp))
        if "resume" in sections:
            results["resume"] = resume(args.recipe, args.epochs, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
