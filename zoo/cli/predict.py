"""`zoo predict RUN_DIR_OR_MODEL INPUT...`: classify raw inputs, print the classes.

Inputs are image files (PNG/JPEG, decoded to the model's channel count), `.txt` files
(one text per file, for text models) or `.npy` / `.npz` arrays holding one example or a
batch in the model's raw input shape. They go to the exported model as they are, the way
a serving client would send them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from zoo.usecases.predict import check_input_file, load_model, predict


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo predict",
        description="Run an exported model on image or text files or .npy/.npz arrays.",
        epilog="Example: zoo predict runs/mnist_cnn-20260101-120000 digit.png",
    )
    p.add_argument("model", help="run directory, model .keras file or SavedModel directory")
    p.add_argument("inputs", nargs="+", help="PNG/JPEG images, .txt texts or .npy/.npz arrays")
    p.add_argument(
        "--top", type=_positive, default=3, help="how many classes to show per input (>= 1)"
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
        for path in args.inputs:  # Before loading the model: fail fast on a bad file.
            check_input_file(Path(path))
        loaded = load_model(args.model)
        results = predict(loaded, args.inputs)
        names = loaded.class_names(len(results[0][1]))
        for label, probs in results:
            order = sorted(range(len(probs)), key=lambda c: -probs[c])[: args.top]
            best = order[0]
            others = ", ".join(f"{names[c]} {probs[c]:.4f}" for c in order)
            print(f"{label}: {names[best]} ({probs[best]:.4f})  top: {others}")
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
