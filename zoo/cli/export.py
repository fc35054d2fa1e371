"""`zoo export RUN_DIR --format saved_model|keras|onnx|litert [--quantize Q,...]`: re-export.

Argument parsing and printing only: what the command does, and its rules, is
zoo/usecases/export.py.
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
