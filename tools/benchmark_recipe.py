"""Train recipes end to end and print their final metrics and wall time as a table.

    python tools/benchmark_recipe.py recipes/mnist_cnn.yaml [--set K=V ...] [--json out.json]

A benchmark, not a test: it reports figures (with the keras.io reference for the MNIST
CNN beside ours) and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # Benchmark the checkout this tool lives in.

REFERENCES = {  # By recipe name: published results to compare with.
    "mnist_cnn": "keras.io MNIST convnet: 99.22% test accuracy after 15 epochs",
    "imdb_lstm": "keras.io Bidirectional LSTM on IMDB: 84.3% test accuracy",
    "adrenalmnist3d_video_cnn": "MedMNIST v2 best 3D baselines: test AUC about 0.83",
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipes", nargs="+", help="recipe YAML files")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from zoo import load_recipe, train_recipe

    rows = []
    for path in args.recipes:
        recipe = load_recipe(path, args.overrides)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = train_recipe(recipe, output_dir=tmp, verbose=0)
            wall = time.perf_counter() - start
        test = result.metrics.get("test", {})
        rows.append(
            {
                "recipe": str(path),
                "epochs": result.metrics["training"]["epochs"],
                "test_accuracy": test.get("accuracy"),
                "test_loss": test.get("loss"),
                "test_metrics": test,  # All the recipe's metrics (e.g. AUC), not just accuracy.
                "train_seconds": result.metrics["training"]["seconds"],
                "wall_seconds": round(wall, 1),
                "reference": REFERENCES.get(recipe.name, ""),
            }
        )
    header = f"{'recipe':34} {'epochs':>6} {'test acc':>9} {'train s':>8} {'wall s':>7}"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(header)
    for r in rows:
        acc = f"{r['test_accuracy']:.4f}" if r["test_accuracy"] is not None else "-"
        others = ", ".join(
            f"{k} {v:.4f}" for k, v in r["test_metrics"].items() if k not in ("accuracy", "loss")
        )
        print(
            f"{r['recipe']:34} {r['epochs']:>6} {acc:>9} {r['train_seconds']:>8} "
            f"{r['wall_seconds']:>7}  {others}"
        )
        if r["reference"]:
            print(f"{'':34} reference: {r['reference']}")
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv, "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
