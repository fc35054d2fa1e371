"""Write a small new MNIST task as an npz, for fine-tuning from the MNIST preset.

    python tools/make_mnist_task.py [--manual-dir ../shared/data/tfds-manual]
        [--train 300] [--test 2000] [--out zoo-data://mnist_mod5.npz]

The task: a digit's value modulo 5 (0 and 5 are class 0, 1 and 6 class 1, ...): five
classes, each joining two digits the MNIST model keeps apart, so the old head is no use
but its convolutions are. Reads the original IDX files (the TFDS manual folder), takes
the first --train training digits and the first --test test digits, and writes
`train_images` (N, 28, 28, 1) uint8, `train_labels`, `test_images`, `test_labels` to the
data root (ZOO_DATA_DIR, else ~/.cache/zoo/data) where recipes/mnist_mod5_transfer.yaml
reads it.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip) as a NumPy array: magic, dims, then big-endian uint8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manual-dir", default=os.environ.get("ZOO_TFDS_MANUAL_DIR"))
    p.add_argument("--train", type=int, default=300)
    p.add_argument("--test", type=int, default=2000)
    p.add_argument("--out", default="zoo-data://mnist_mod5.npz")
    args = p.parse_args(argv)
    if not args.manual_dir:
        p.error("give --manual-dir (the folder of MNIST's original .gz files)")
    from zoo.config.paths import resolve

    src = Path(args.manual_dir)
    out = resolve(args.out, must_exist=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, prefix, n in (("train", "train", args.train), ("test", "t10k", args.test)):
        images = read_idx(src / f"{prefix}-images-idx3-ubyte.gz")[:n, :, :, None]
        labels = read_idx(src / f"{prefix}-labels-idx1-ubyte.gz")[:n].astype("int64") % 5
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    tmp = out.with_name(f".{out.stem}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(out)
    print(f"wrote {out}: train {args.train}, test {args.test} digits, 5 classes (digit mod 5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
