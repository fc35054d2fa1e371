"""Does memory stay flat as the dataset grows? (issue 16)

Generates synthetic datasets of growing size under --workdir (default /tmp/zoo-scale):
CSV text (--csv-gb, default 0.1 1 4), uncompressed npz images (--npz-gb, default 0.5 4)
and a folder of small PNGs (--pngs, default 100000). For each, a child process trains a
tiny model for --steps steps through zoo's data layer (`zoo.data.load`, as the trainer
reads it) and reports peak RSS, the time from start to the end of the first step, and
steady examples/s (steps after the first quarter). The CSV sizes run twice: the second
run reuses the saved scan (label mapping) and shows the start-up a user sees again.
`--compare-memory` also runs the smallest CSV with `data.cache: memory` after a warm-up
pass, the in-memory path, for the throughput comparison.

Check `df -h` on --workdir first: the datasets take their size on disk (plus caches).

    python tools/benchmark_scale.py --csv-gb 0.1 1 --npz-gb 0.5 --pngs 20000 --steps 200
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

WORDS = [f"w{i}" for i in range(5000)]


def make_csv(path: Path, gigabytes: float) -> Path:
    """Rows of ~40 random words and a label from 4 classes, until the size is reached."""
    if path.exists() and path.stat().st_size >= gigabytes * 1e9 * 0.99:
        return path
    rng = random.Random(0)
    target = int(gigabytes * 1e9)
    block = ["text,label\n"]
    lines = [" ".join(rng.choices(WORDS, k=40)) + f",c{rng.randrange(4)}\n" for _ in range(20_000)]
    written = 0
    with path.open("w") as f:
        f.write(block[0])
        while written < target:
            chunk = "".join(lines)
            f.write(chunk)
            written += len(chunk)
            rng.shuffle(lines)
    return path


def make_npz(path: Path, gigabytes: float) -> Path:
    """Uncompressed npz of 32x32x3 uint8 images, written member by member (bounded RAM)."""
    import zipfile

    import numpy as np

    if path.exists():
        return path
    n = int(gigabytes * 1e9 // (32 * 32 * 3))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open("train_labels.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array(f, (np.arange(n) % 10).astype(np.int64))
        with zf.open("train_images.npy", "w", force_zip64=True) as f:
            header = {"descr": "|u1", "fortran_order": False, "shape": (n, 32, 32, 3)}
            np.lib.format.write_array_header_2_0(f, header)
            rng = np.random.default_rng(0)
            chunk = 20_000
            for start in range(0, n, chunk):
                k = min(chunk, n - start)
                f.write(rng.integers(0, 256, (k, 32, 32, 3), dtype=np.uint8).tobytes())
    return path


def make_pngs(folder: Path, count: int) -> Path:
    import numpy as np
    import tensorflow as tf

    done = folder / ".complete"
    if done.exists():
        return folder
    rng = np.random.default_rng(0)
    for i in range(count):
        sub = folder / "train" / f"c{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        (sub / f"{i}.png").write_bytes(tf.io.encode_png(img).numpy())
    done.write_text("")
    return folder


# ------------------------------------------------------------------ the child
def child(spec: dict) -> dict:
    """Load through zoo.data, train `steps` steps of a tiny model, measure."""
    import resource

    start = time.perf_counter()
    import keras
    import tensorflow as tf

    from zoo.config.schema import CsvData, DirectoryData, NpzData
    from zoo.data import load

    kind = spec["kind"]
    if kind == "csv":
        config = CsvData(
            source="csv",
            path=spec["path"],
            text_column="text",
            label_column="label",
            cache=spec.get("cache", "auto"),
            cache_dir=spec["cache_dir"],
            text={"max_tokens": 5000, "sequence_length": 40, "adapt_sample": 20000},
        )
    elif kind == "npz":
        config = NpzData(
            source="npz",
            path=spec["path"],
            splits={"train": "train", "test": None},
            cache=spec.get("cache", "auto"),
            cache_dir=spec["cache_dir"],
        )
    else:
        config = DirectoryData(
            source="directory",
            path=spec["path"],
            kind="image",
            image_size=(16, 16),
            splits={"train": "train", "test": None},
            cache=spec.get("cache", "auto"),
            cache_dir=spec["cache_dir"],
        )
    batch = 64
    bundle = load(config, batch_size=batch, seed=0)
    ds = bundle.model_ready("train").repeat()
    if kind == "csv":
        model = keras.Sequential(
            [
                keras.layers.Embedding(5002, 16),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(4),
            ]
        )
    else:
        model = keras.Sequential(
            [
                keras.layers.Rescaling(1 / 255),
                keras.layers.Conv2D(8, 3, activation="relu"),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(10),
            ]
        )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    steps = spec["steps"]
    if spec.get("warm"):  # The in-memory path: one pass fills the memory cache first.
        for _ in bundle.model_ready("train"):
            pass
    times: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch_index, logs=None):
            times.append(time.perf_counter())

    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[Clock()])
    warm = times[len(times) // 4 :]
    rate = (len(warm) - 1) * batch / (warm[-1] - warm[0]) if len(warm) > 1 else 0.0
    del tf
    return {
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_step_s": times[0] - start,
        "examples_per_s": rate,
    }


def run_child(spec: dict) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        return {"error": proc.stderr[-2000:]}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default="/tmp/zoo-scale")
    parser.add_argument("--csv-gb", type=float, nargs="*", default=[0.1, 1, 4])
    parser.add_argument("--npz-gb", type=float, nargs="*", default=[0.5, 4])
    parser.add_argument("--pngs", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--compare-memory", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    cache_dir = str(work / "cache")
    rows = []

    def record(name: str, spec: dict) -> None:
        spec = {"steps": args.steps, "cache_dir": cache_dir, **spec}
        result = run_child(spec)
        rows.append({"dataset": name, **result})
        print(json.dumps(rows[-1]), flush=True)

    for gb in args.csv_gb:
        path = str(make_csv(work / f"text-{gb}gb.csv", gb))
        record(f"csv {gb} GB (first run)", {"kind": "csv", "path": path})
        record(f"csv {gb} GB (second run)", {"kind": "csv", "path": path})
    if args.compare_memory and args.csv_gb:
        path = str(work / f"text-{min(args.csv_gb)}gb.csv")
        record(
            f"csv {min(args.csv_gb)} GB in memory",
            {"kind": "csv", "path": path, "cache": "memory", "warm": True},
        )
        record(
            f"csv {min(args.csv_gb)} GB streamed (cache none)",
            {"kind": "csv", "path": path, "cache": "none"},
        )
    for gb in args.npz_gb:
        path = str(make_npz(work / f"images-{gb}gb.npz", gb))
        record(f"npz {gb} GB", {"kind": "npz", "path": path, "cache": "none"})
    if args.pngs:
        path = str(make_pngs(work / f"pngs-{args.pngs}", args.pngs))
        record(f"{args.pngs} PNGs", {"kind": "directory", "path": path})
    print("\n| dataset | peak RSS MiB | first step s | examples/s |")
    print("|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['dataset']} | error | | |")
            continue
        print(
            f"| {r['dataset']} | {r['peak_rss_mib']:.0f} | {r['first_step_s']:.1f} | "
            f"{r['examples_per_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
