"""mnist_mod5: a small new MNIST task, made by zoo itself for the fine-tuning example.

Why it is in the package: recipes/mnist_mod5_transfer.yaml reads
`zoo-data://mnist_mod5.npz`, and a wheel ships no tools/ folder, so `zoo prepare
mnist_mod5_transfer` must be able to make the file from what the user already has for
MNIST (its original IDX files, the TFDS manual folder).

The task: a digit's value modulo 5 (0 and 5 are class 0, 1 and 6 class 1, ...): five
classes, each joining two digits the MNIST model keeps apart, so the old head is no use
but its convolutions are. It takes the first `train` training digits and the first `test`
test digits and writes `train_images` (N, 28, 28, 1) uint8, `train_labels`,
`test_images`, `test_labels`. Deterministic: the same files give the same npz.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from zoo import settings
from zoo.errors import DataError

RELATIVE_PATH = "mnist_mod5.npz"  # Under the data root: recipes name zoo-data://mnist_mod5.npz.
TRAIN, TEST = 300, 2000
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip) as a NumPy array: magic, dims, then big-endian uint8 data."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
        ndim = data[3]
        dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
        return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)
    except (OSError, EOFError, IndexError, ValueError) as exc:
        raise DataError(
            f"{path} is not a readable MNIST IDX file ({exc}); replace it with the original "
            "file from https://storage.googleapis.com/cvdf-datasets/mnist/."
        ) from None


def manual_folder(manual_dir: str | os.PathLike[str] | None) -> Path:
    """The folder holding MNIST's four original files: `manual_dir`, else
    ZOO_TFDS_MANUAL_DIR; a missing one raises DataError naming the files and the fix."""
    folder = Path(manual_dir) if manual_dir else settings.tfds_manual_dir()
    names = [n for pair in _FILES.values() for n in pair]
    if folder is None:
        raise DataError(
            f"{RELATIVE_PATH} is made from MNIST's original files ({', '.join(names)}); name "
            "their folder with --manual-dir or ZOO_TFDS_MANUAL_DIR."
        )
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"{RELATIVE_PATH} is made from MNIST's original files, but {folder} lacks "
            f"{', '.join(missing)}; put them there (from "
            "https://storage.googleapis.com/cvdf-datasets/mnist/) or name another folder with "
            "--manual-dir or ZOO_TFDS_MANUAL_DIR."
        )
    return folder


def make(
    out: Path,
    manual_dir: str | os.PathLike[str] | None = None,
    *,
    train: int = TRAIN,
    test: int = TEST,
) -> str:
    """Write the mnist_mod5 npz to `out` (atomically: a reader never sees half a file)
    and say what was written."""
    from zoo.fs import writing

    src = manual_folder(manual_dir)
    arrays: dict[str, np.ndarray] = {}
    for split, n in (("train", train), ("test", test)):
        images_file, labels_file = _FILES[split]
        images = read_idx(src / images_file)[:n, :, :, None]
        labels = read_idx(src / labels_file)[:n].astype("int64") % 5
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    tmp = out.with_name(f".{out.stem}.tmp.npz")
    with writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, **arrays)
        tmp.replace(out)
    return (
        f"made {out} from {src}: train {len(arrays['train_labels'])}, "
        f"test {len(arrays['test_labels'])} digits, 5 classes (digit mod 5)"
    )
