"""Export verification: reload each artifact in a fresh process and compare predictions.

A fresh interpreter proves the files stand alone (no state borrowed from the training
process: custom objects, traced functions, cached graphs). The child is
`python -m zoo.exporting.verify WORK_DIR`: it reads `jobs.json` (kind, format, artifact,
inputs file), loads each artifact through its format (`zoo.exporting.formats`), and writes
one `.npy` of probabilities per job; the parent compares them with the in-memory model.

Float artifacts are compared elementwise (max |Δ| against a tolerance). Quantised ones
(tolerance None) are scored by accuracy on labelled test inputs against the float
model's accuracy on the same inputs, and the drop is recorded.

The same child then times each artifact at batch 1, as a server answering one request
calls it: `LATENCY_WARMUP` single-example calls first (graph tracing, allocator and
thread-pool start-up are not serving), then up to `LATENCY_CALLS` timed calls (fewer once
`LATENCY_BUDGET_S` is spent, never fewer than `LATENCY_MIN_CALLS`). The median, in ms, is
`batch1_latency_ms` in the record, with `batch1_calls`. It is measured on the machine the
run trained on, with whatever else runs there: a figure to compare formats and
machines by, not a guarantee. `zoo results` shows the fastest verified format's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_ACCURACY_DROP = 0.01  # One point of test accuracy, for quantised artifacts.
LATENCY_WARMUP = 5  # Untimed batch-1 calls before timing.
LATENCY_CALLS = 30  # Timed batch-1 calls (at most).
LATENCY_MIN_CALLS = 5  # Timed calls even past the budget.
LATENCY_BUDGET_S = 10.0  # Seconds of timed calls per artifact before stopping early.
LATENCY_FILE = "latency.json"  # The child's timings, one entry per job.


@dataclass
class Job:
    """One artifact to check: what to feed it and what to compare with."""

    kind: str
    path: Path
    inputs: Any  # np.ndarray fed to the artifact.
    expected: Any  # The in-memory model's probabilities on `inputs`.
    tolerance: float | None  # None: checked by accuracy against `labels`.
    labels: Any = None
    notes: dict[str, Any] | None = None
    max_accuracy_drop: float = MAX_ACCURACY_DROP


def format_of(kind: str) -> str:
    """The format name behind an artifact kind (`litert_int8` -> `litert`)."""
    from zoo.exporting.formats import ALIASES, FORMATS

    if kind in FORMATS:
        return kind
    if kind in ALIASES:
        return ALIASES[kind]
    return next(name for name in FORMATS if kind.startswith(f"{name}_"))


def tolerance_of(kind: str) -> float | None:
    from zoo.exporting.formats import FORMATS

    fmt = format_of(kind)
    variant = kind[len(fmt) + 1 :] or None if kind.startswith(f"{fmt}_") else None
    return FORMATS[fmt].tolerance(variant)


def check(
    artifacts: Mapping[str, Path], inputs: np.ndarray, expected: np.ndarray, timeout: int = 600
) -> dict[str, Any]:
    """{kind: {examples, max_abs_difference, tolerance, ok, fresh_process}} per artifact,
    all fed the same inputs and compared elementwise."""
    jobs = [
        Job(k, Path(p), inputs, expected, tolerance_of(k) or 1e-4) for k, p in artifacts.items()
    ]
    return run(jobs, timeout=timeout)


def run(jobs: Sequence[Job], timeout: int = 600) -> dict[str, Any]:
    """Check every job in one fresh process; {kind: record}."""
    import numpy as np

    from zoo.errors import ZooError

    with tempfile.TemporaryDirectory(prefix="zoo-verify-") as tmp:
        listing = []
        for i, job in enumerate(jobs):
            inputs = job.inputs.astype(bytes) if job.inputs.dtype == object else job.inputs
            np.save(Path(tmp) / f"inputs-{i}.npy", inputs)
            listing.append({"kind": job.kind, "format": format_of(job.kind), "path": str(job.path)})
        (Path(tmp) / "jobs.json").write_text(json.dumps(listing))
        child = subprocess.run(
            [sys.executable, "-m", "zoo.exporting.verify", tmp],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if child.returncode != 0:
            raise ZooError(
                "Export verification failed: reloading the artifacts in a fresh process "
                f"exited {child.returncode}: {child.stderr.strip().splitlines()[-1:]}"
            )
        timings = json.loads((Path(tmp) / LATENCY_FILE).read_text())
        out: dict[str, Any] = {}
        for i, job in enumerate(jobs):
            got = np.load(Path(tmp) / f"{i}.npy")
            out[job.kind] = _record(job, got) | {"artifact": job.path.name} | timings[i]
            if job.notes:
                out[job.kind].update(job.notes)
    return out


def _record(job: Job, got: np.ndarray) -> dict[str, Any]:
    import numpy as np

    same_shape = got.shape == np.shape(job.expected)
    diff = float(np.max(np.abs(got - job.expected))) if same_shape else float("inf")
    record: dict[str, Any] = {
        "examples": len(job.inputs),
        "max_abs_difference": diff,
        "fresh_process": True,
        "size_bytes": size_on_disk(job.path),
    }
    if job.tolerance is not None:
        return record | {
            "tolerance": job.tolerance,
            "ok": bool(same_shape and diff <= job.tolerance),
        }
    labels = np.asarray(job.labels)
    truth = labels.argmax(-1) if labels.ndim > 1 else labels.astype(int)
    accuracy = float(np.mean(got.argmax(-1) == truth)) if same_shape else 0.0
    reference = float(np.mean(np.asarray(job.expected).argmax(-1) == truth))
    drop = reference - accuracy
    return record | {
        "check": "accuracy",
        "accuracy": accuracy,
        "float_accuracy": reference,
        "accuracy_drop": drop,
        "max_accuracy_drop": job.max_accuracy_drop,
        "ok": bool(same_shape and drop <= job.max_accuracy_drop),
    }


def size_on_disk(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    path = Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size if path.exists() else 0


def batch1_latency(predict: Any, one: Any) -> dict[str, Any]:
    """{batch1_latency_ms: median ms of single-example calls, batch1_calls: how many were
    timed} of `predict` on the one-example batch `one`, after `LATENCY_WARMUP` calls."""
    import time

    import numpy as np

    for _ in range(LATENCY_WARMUP):
        predict(one)
    times: list[float] = []
    spent = 0.0
    while len(times) < LATENCY_CALLS and (
        spent < LATENCY_BUDGET_S or len(times) < LATENCY_MIN_CALLS
    ):
        start = time.perf_counter()
        np.asarray(predict(one))  # The answer in hand, as a caller would have it.
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return {
        "batch1_latency_ms": round(float(np.median(times)) * 1e3, 4),
        "batch1_calls": len(times),
    }


def _child(argv: Sequence[str]) -> int:
    import numpy as np

    from zoo.exporting.formats import FORMATS

    work = Path(argv[0])
    timings = []
    for i, job in enumerate(json.loads((work / "jobs.json").read_text())):
        predict = FORMATS[job["format"]].load(Path(job["path"]))
        inputs = np.load(work / f"inputs-{i}.npy", allow_pickle=False)
        np.save(work / f"{i}.npy", np.asarray(predict(inputs)))
        timings.append(batch1_latency(predict, inputs[:1]))
    (work / LATENCY_FILE).write_text(json.dumps(timings))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
