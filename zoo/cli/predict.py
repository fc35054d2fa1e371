"""`zoo predict MODEL INPUT... [--top 3] [--json]`: classify raw inputs, print the classes.

Argument parsing and printing only: what the command does, and its rules, is
zoo/usecases/predict.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo predict",
        description="Run a trained model on image or text files, .npy/.npz arrays, or "
        "folders of them.",
        epilog="Examples: zoo predict runs/mnist_cnn-20260101-120000 digit.png; "
        "zoo predict presets/mnist_cnn photos/ --json; zoo predict RUN/onnx/model.onnx x.npy. "
        "Input files over ZOO_PREDICT_MAX_BYTES (256 MiB) are refused unread.",
    )
    p.add_argument(
        "model",
        help="run folder, preset (folder, hf://, kaggle://), .keras/.onnx/.tflite file or "
        "SavedModel folder",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        help="PNG/JPEG/GIF/BMP images (resized and converted to the model's channels), "
        ".txt texts, .npy/.npz arrays, or folders of them",
    )
    p.add_argument(
        "--top", type=_positive, default=3, help="how many classes to show per input (>= 1)"
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object per input (JSON Lines)"
    )
    return p


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1 (got {text!r})")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        import json

        from zoo import api

        for p in api.predict(args.model, args.inputs):
            if args.json:
                print(json.dumps(p.as_dict(args.top)))
                continue
            (best, probability), *_ = p.top(1)
            others = ", ".join(f"{c} {q:.4f}" for c, q in p.top(args.top))
            note = f"  ({p.note})" if p.note else ""
            print(f"{p.input}: {best} ({probability:.4f})  top: {others}{note}")
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
