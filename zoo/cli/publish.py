"""`zoo publish RUN_DIR DEST`: a finished run as a preset that anyone can load.

DEST is a folder (written atomically; an existing folder is replaced only when it is a
preset), `hf://ORG/NAME` (Hugging Face Hub, through huggingface_hub) or
`kaggle://OWNER/MODEL/keras/VARIANT` (Kaggle Models, through kagglehub). An unfinished
run, or one whose export check failed, is refused with exit 2. The format is described
in zoo/presets/format.py and the README ("Presets").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo publish",
        description="Write a finished run as a preset folder, or upload it to a hub.",
        epilog="Example: zoo publish runs/mnist_cnn-20260101-120000 presets/mnist_cnn",
    )
    p.add_argument("run_dir", help="a finished run directory")
    p.add_argument(
        "dest", help="a folder, file://PATH, hf://ORG/NAME or kaggle://OWNER/MODEL/keras/VARIANT"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        from zoo import api

        where = api.publish(args.run_dir, args.dest)
        print(f"published {args.run_dir} -> {where}")
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
