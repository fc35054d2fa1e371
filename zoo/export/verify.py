"""Export verification: reload each artifact in a fresh process and compare predictions.

A fresh interpreter proves the files stand alone (no state borrowed from the training
process: custom objects, traced functions, cached graphs). The child is
`python -m zoo.export.verify OUT_DIR INPUTS.npy ARTIFACT...`; it writes one `.npy` of
probabilities per artifact, and the parent compares them with the in-memory model.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# Max |difference| in probability allowed per artifact kind. Keras and SavedModel run
# the same float32 kernels, so only reduction-order noise is allowed; TFLite's
# converter may fuse ops, hence a looser bound.
TOLERANCE = {"keras": 1e-5, "saved_model": 1e-5, "tflite": 1e-4}


def check(
    artifacts: Mapping[str, Path], inputs: np.ndarray, expected: np.ndarray, timeout: int = 300
) -> dict[str, Any]:
    """{kind: {examples, max_abs_difference, tolerance, ok, fresh_process}} per artifact."""
    import numpy as np

    from zoo.errors import ZooError

    if inputs.dtype == object:  # Raw strings: fixed-width bytes save without pickle.
        inputs = inputs.astype(bytes)
    with tempfile.TemporaryDirectory(prefix="zoo-verify-") as tmp:
        np.save(Path(tmp) / "inputs.npy", inputs)
        child = subprocess.run(
            [sys.executable, "-m", "zoo.export.verify", tmp, *(str(p) for p in artifacts.values())],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if child.returncode != 0:
            raise ZooError(
                "Export verification failed: reloading the artifacts in a fresh process "
                f"exited {child.returncode}: {child.stderr.strip().splitlines()[-1:]}"
            )
        out: dict[str, Any] = {}
        for i, kind in enumerate(artifacts):
            got = np.load(Path(tmp) / f"{i}.npy")
            diff = float(np.max(np.abs(got - expected)))
            out[kind] = {
                "examples": len(inputs),
                "max_abs_difference": diff,
                "tolerance": TOLERANCE[kind],
                "ok": bool(got.shape == expected.shape and diff <= TOLERANCE[kind]),
                "fresh_process": True,
            }
    return out


def _child(argv: Sequence[str]) -> int:
    import numpy as np

    from zoo.export import artifacts

    out_dir, *paths = argv
    inputs = np.load(Path(out_dir) / "inputs.npy", allow_pickle=False)
    for i, path in enumerate(paths):
        np.save(Path(out_dir) / f"{i}.npy", artifacts.load(path).predict(inputs))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
