"""What a search trial costs beyond its training: a 4-trial MNIST MLP search, measured.

    python tools/benchmark_search.py [--trials 4] [--epochs 2] [--workdir DIR]

Runs `zoo.search` on recipes/mnist_mlp.yaml (all of MNIST) with a learning-rate search,
one worker, no pruning, then prints per trial its wall time (what the trial cost the
study, from the study's table) beside its training time (fit, from the trial's
metrics.json), their ratio and the median ratio. Target (issue 20): median <= 1.5 (a
trial used to pay the data check, the test evaluation, two exports and their
fresh-process check: about 4.8x). The best trial's exports are checked once the study
ends; that time is printed apart, as it is paid once per study.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RECIPE = """\
extends: {base}
name: mnist_mlp_search
training:
  epochs: {epochs}
search:
  parameters:
    training.optimizer.learning_rate: {{loguniform: [1.0e-4, 1.0e-2]}}
  trials: {trials}
  sampler: random
  pruner: null
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--workdir", type=Path)
    args = p.parse_args(argv)
    os.environ.setdefault(
        "ZOO_TFDS_MANUAL_DIR", str(REPO.parent / "shared" / "data" / "tfds-manual")
    )
    import zoo

    work = args.workdir or Path(tempfile.mkdtemp(prefix="zoo-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    recipe = work / "search.yaml"
    base = REPO / "recipes" / "mnist_mlp.yaml"
    recipe.write_text(RECIPE.format(base=base, epochs=args.epochs, trials=args.trials))
    start = time.perf_counter()
    outcome = zoo.search(recipe, output_dir=work / "study")
    study_seconds = time.perf_counter() - start
    ratios = []
    print("| trial | wall s | training s | wall / training |")
    print("|---|---|---|---|")
    for row in outcome.trials:
        run = outcome.study_dir / "trials" / f"trial-{row['number']:04d}"
        fit = json.loads((run / "metrics.json").read_text())["training"]["seconds"]
        ratios.append(row["seconds"] / fit)
        print(f"| {row['number']} | {row['seconds']:.1f} | {fit:.1f} | {ratios[-1]:.2f} |")
    trials_seconds = sum(r["seconds"] for r in outcome.trials)
    print(f"median wall / training: {statistics.median(ratios):.2f} (target <= 1.5)")
    print(
        f"study: {study_seconds:.1f} s in all, {trials_seconds:.1f} s in trials; the best "
        f"trial's exports ({', '.join(outcome.exports)}) verified: "
        f"{all(c.get('ok') for c in outcome.exports.values())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
