"""`zoo export RUN_DIR --format saved_model|keras|onnx|litert [--quantize Q,...]`: re-export.

Starts from the run's `model.keras` (loaded in safe mode) and its resolved recipe, writes
the artifact with the same code the trainer uses, checks it in a fresh process against
the Keras model on held-out inputs, and records that check in its own file,
`export-<kind>.json` (kind: `onnx`, `litert_int8`...). `tflite` is the deprecated name of
`litert --quantize none`. It writes nothing else: never metrics.json, never a file of the
run folder that zoo did not write. It holds the run's lock while it writes, and refuses
an unfinished run unless --allow-unfinished (the run then stays resumable). A failed
check exits 2 with the difference found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo export",
        description="Re-export a finished run's model.keras in another format.",
        epilog="Example: zoo export runs/mnist_cnn-20260101-120000 --format litert "
        "--quantize dynamic_int8,int8",
    )
    p.add_argument("run_dir", help="a run directory holding model.keras and recipe.yaml")
    p.add_argument(
        "--format",
        required=True,
        help="artifact to write: keras, saved_model, onnx or litert (tflite: deprecated "
        "alias of litert --quantize none)",
    )
    p.add_argument(
        "--quantize",
        default=None,
        help="litert only: none, float16, dynamic_int8 or int8, or several comma-separated "
        "(default none); int8 calibrates on the recipe's training split",
    )
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="export from a run that has not finished (no metrics.json); it stays resumable",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        from zoo import api

        checks = api.export(
            args.run_dir,
            args.format,
            quantize=args.quantize,
            allow_unfinished=args.allow_unfinished,
        )
        for kind, check in checks.items():
            print(f"{kind}: " + ", ".join(f"{k}={v}" for k, v in check.items()))
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
