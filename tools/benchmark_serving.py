"""Serving benchmark: every exported format of each run, each in its own child process.

    python tools/benchmark_serving.py RUN_DIR... [--calls 200] [--json out.json]

Per artifact (Keras `predict`, the SavedModel signature, ONNX Runtime, LiteRT per
quantisation): latency at batch 1 (median and p99 over `--calls` calls after warm-up),
throughput at batch 64, size on disk, and the peak resident memory (VmHWM; ru_maxrss off
Linux) of the
serving process. Each format runs in a fresh child so memory and warm caches of one do
not leak into another. Inputs are the run's own held-out examples (a text model's ONNX
file gets their token ids). Prints a Markdown table (for README "Serving").
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BATCH = 64


def _inputs(run: Path, folder: Path) -> dict[str, Path]:
    """Save raw held-out inputs (and token ids for a text ONNX export); {which: file}."""
    import numpy as np

    from zoo.config.loading import load_recipe
    from zoo.data import load as load_data
    from zoo.exporting.artifacts import load_keras_model
    from zoo.exporting.formats import FORMATS

    recipe = load_recipe(run / "recipe.yaml")
    bundle = load_data(recipe.data, batch_size=BATCH, seed=recipe.seed)
    xs, count = [], 0
    for x, _ in bundle.split(recipe.evaluation.splits[0]):
        xs.append(x.numpy())
        count += len(xs[-1])
        if count >= BATCH:
            break
    raw = np.concatenate(xs)[:BATCH]
    raw = raw.astype(bytes) if raw.dtype == object else raw
    out = {"raw": folder / f"{run.name}-raw.npy"}
    np.save(out["raw"], raw)
    if (run / "onnx").is_dir():
        front, _, _ = FORMATS["onnx"].servable(load_keras_model(run / "model.keras"))
        if front is not None:
            out["onnx"] = folder / f"{run.name}-ids.npy"
            np.save(out["onnx"], np.asarray(front(raw)))
    return out


def _artifacts(run: Path) -> list[tuple[str, str, Path]]:
    """(label, format, path) for each artifact present in the run."""
    from zoo.exporting.formats import FORMATS

    found = []
    if (run / "model.keras").is_file():
        found.append(("keras predict", "keras_predict", run / "model.keras"))
    for name in ("saved_model", "onnx", "litert"):
        fmt = FORMATS[name]
        for variant in fmt.variants:
            path = run / fmt.target(variant)
            if path.exists():
                found.append((fmt.kind(variant), name, path))
    return found


def _child(fmt: str, path: str, inputs: str, calls: int) -> dict[str, Any]:
    """Load one artifact, time it, report; runs in its own process."""
    import resource
    import time

    import numpy as np

    x = np.load(inputs, allow_pickle=False)
    if fmt == "keras_predict":
        from zoo.exporting.artifacts import load_keras_model

        model = load_keras_model(Path(path))
        if x.dtype.kind in "SU":  # Keras predict rejects strings: call the model instead.
            from zoo.evaluation.scoring import predictor

            predict = predictor(model)
        else:

            def predict(batch):
                return model.predict(batch, verbose=0)
    else:
        from zoo.exporting.formats import FORMATS

        predict = FORMATS[fmt].load(Path(path))
    one = x[:1]
    for _ in range(20):
        predict(one)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        predict(one)
        times.append(time.perf_counter() - start)
    predict(x)
    reps = 20
    start = time.perf_counter()
    for _ in range(reps):
        predict(x)
    throughput = reps * len(x) / (time.perf_counter() - start)
    return {
        "median_ms": float(np.median(times) * 1e3),
        "p99_ms": float(np.percentile(times, 99) * 1e3),
        "throughput_per_s": throughput,
        "peak_rss_mb": _peak_rss_mb(resource),
    }


def _peak_rss_mb(resource: Any) -> float:
    """This process's peak resident memory. Linux keeps ru_maxrss across exec (a child
    inherits its parent's high-water mark), so read VmHWM, which exec resets."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(runs: list[Path], calls: int) -> list[dict[str, Any]]:
    from zoo.exporting.verify import size_on_disk

    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-bench-serving-") as tmp:
        for run in runs:
            inputs = _inputs(run, Path(tmp))
            for label, fmt, path in _artifacts(run):
                data = inputs.get(fmt, inputs["raw"])
                child = subprocess.run(
                    [sys.executable, __file__, "--child", fmt, str(path), str(data), str(calls)],
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                row = {"run": run.name, "format": label, "size_mb": size_on_disk(path) / 2**20}
                if child.returncode != 0:
                    row["error"] = (child.stderr.strip().splitlines() or ["?"])[-1]
                else:
                    row |= json.loads(child.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| run | format | batch-1 median ms | batch-1 p99 ms | batch-64 ex/s | size MB "
        "| peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['run']} | {r['format']} | error: {r['error'][:60]} | | | | |")
            continue
        lines.append(
            f"| {r['run']} | {r['format']} | {r['median_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['throughput_per_s']:.0f} | {r['size_mb']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        fmt, path, inputs, calls = argv[1:5]
        print(json.dumps(_child(fmt, path, inputs, int(calls))))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="run directories")
    p.add_argument("--calls", type=int, default=200, help="batch-1 calls timed (>= 200)")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO))
    rows = bench(args.runs, args.calls)
    machine = f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores"
    print(f"Machine: {machine}; Python {platform.python_version()}\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
