"""`data.cache`: auto's choice, the disk cache reused only once complete and for its key."""

import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest

from zoo.config.schema import NpzData
from zoo.data import cache as data_cache
from zoo.data import load
from zoo.errors import DataError


@pytest.fixture
def archive(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (24, 4, 4), dtype=np.uint8),
        "train_labels": np.arange(24) % 3,
        "test_images": rng.integers(0, 256, (6, 4, 4), dtype=np.uint8),
        "test_labels": np.arange(6) % 3,
    }
    np.savez(tmp_path / "a.npz", **arrays)
    return tmp_path / "a.npz", arrays


def _config(path, tmp_path, **fields):
    fields.setdefault("cache", "disk")
    return NpzData(
        source="npz",
        path=str(path),
        splits={"train": "train", "test": "test"},
        cache_dir=str(tmp_path / "cache"),
        shuffle_buffer=0,
        **fields,
    )


def _epoch(ds):
    return np.concatenate([x.numpy() for x, _ in ds])


def _marker(tmp_path, role):
    found = list((tmp_path / "cache").glob(f"*/{role}/{data_cache.MARKER}"))
    return found[0] if found else None


def test_old_boolean_cache_values_still_mean_memory_and_none():
    base = {"source": "npz", "path": "x.npz"}
    assert NpzData(**base, cache=True).cache == "memory"
    assert NpzData(**base, cache=False).cache == "none"
    assert NpzData(**base).cache == "auto"
    with pytest.raises(ValueError):
        NpzData(**base, cache="ram")


def test_auto_picks_memory_for_small_and_disk_for_large(monkeypatch, caplog):
    monkeypatch.setattr(data_cache, "available_ram", lambda: 1000 * 2**20)
    with caplog.at_level(logging.INFO, logger="zoo"):
        assert data_cache.choose("auto", 10 * 2**20, "train") == "memory"
        assert data_cache.choose("auto", 500 * 2**20, "train") == "disk"
        assert data_cache.choose("auto", None, "test") == "memory"
    assert "cached on disk (auto" in caplog.text
    monkeypatch.undo()
    assert data_cache.available_ram() > 0


def test_disk_cache_is_marked_after_a_full_pass_and_reused(archive, tmp_path, caplog):
    path, arrays = archive
    config = _config(path, tmp_path)
    bundle = load(config, batch_size=5, seed=0)
    assert _marker(tmp_path, "train") is None  # Nothing trusted before a full pass.
    first = _epoch(bundle.train)
    np.testing.assert_array_equal(first, arrays["train_images"])
    marker = _marker(tmp_path, "train")
    assert marker is not None and json.loads(marker.read_text())["role"] == "train"
    with caplog.at_level(logging.INFO, logger="zoo"):
        again = load(config, batch_size=5, seed=0)
    assert "read from the complete disk cache" in caplog.text
    np.testing.assert_array_equal(_epoch(again.train), arrays["train_images"])


def test_partial_cache_from_an_interrupted_pass_is_not_trusted(archive, tmp_path, caplog):
    path, arrays = archive
    config = _config(path, tmp_path)
    bundle = load(config, batch_size=5, seed=0)
    it = iter(bundle.train)
    next(it)  # A killed run: one batch read, never the end of the split.
    del it
    assert _marker(tmp_path, "train") is None
    with caplog.at_level(logging.INFO, logger="zoo"):
        again = load(config, batch_size=5, seed=0)
    assert "read from the complete disk cache" not in caplog.text
    np.testing.assert_array_equal(_epoch(again.train), arrays["train_images"])
    assert _marker(tmp_path, "train") is not None


def test_cache_from_another_data_version_is_rebuilt(archive, tmp_path, caplog):
    path, arrays = archive
    config = _config(path, tmp_path)
    _epoch(load(config, batch_size=5, seed=0).train)
    changed = {**arrays, "train_images": arrays["train_images"][::-1].copy()}
    np.savez(path, **changed)
    with caplog.at_level(logging.INFO, logger="zoo"):
        bundle = load(config, batch_size=5, seed=0)
    assert "read from the complete disk cache" not in caplog.text
    np.testing.assert_array_equal(_epoch(bundle.train), changed["train_images"])


def test_foreign_marker_in_the_cache_folder_is_rebuilt(archive, tmp_path, caplog):
    path, arrays = archive
    config = _config(path, tmp_path)
    _epoch(load(config, batch_size=5, seed=0).train)
    marker = _marker(tmp_path, "train")
    marker.write_text(json.dumps({"key": "another-recipe", "role": "train"}))
    with caplog.at_level(logging.INFO, logger="zoo"):
        bundle = load(config, batch_size=5, seed=0)
    assert "incomplete or foreign cache" in caplog.text
    np.testing.assert_array_equal(_epoch(bundle.train), arrays["train_images"])


def test_unwritable_or_full_cache_disk_is_one_data_error(archive, tmp_path):
    path, _ = archive
    config = _config(path, tmp_path).model_copy(update={"cache_dir": "/dev/full/cache"})
    with pytest.raises(DataError, match=r"data.cache: .*/dev/full/cache"):
        load(config, batch_size=5, seed=0)


def test_too_little_free_space_is_refused_before_writing(tmp_path):
    store = data_cache.DiskCache(tmp_path, "k", "train")
    with pytest.raises(DataError, match="MiB free"):
        store.prepare(1 << 60)


def test_a_cache_another_run_is_writing_is_left_alone(archive, tmp_path, caplog):
    """Two runs of the same data at once: the second neither deletes nor writes the
    folder the first holds the lock of; it reads without a cache, and correctly."""
    import os
    import subprocess
    import sys

    path, arrays = archive
    config = _config(path, tmp_path)
    load(config, batch_size=5, seed=0)  # Creates <key>/train.lock, held by this process.
    (lock,) = (tmp_path / "cache").glob("*/train.lock")
    os.close(data_cache._held.pop(str(lock)))  # As if this process were another run...
    holder = subprocess.Popen(  # ...and another process is writing the cache now.
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        partial = lock.with_name("train") / "examples_0.lockfile"
        partial.parent.mkdir(exist_ok=True)
        partial.write_text("the other run's")
        with caplog.at_level(logging.INFO, logger="zoo"):
            bundle = load(config, batch_size=5, seed=0)
            np.testing.assert_array_equal(_epoch(bundle.train), arrays["train_images"])
        assert "another run is writing the disk cache" in caplog.text
        assert partial.read_text() == "the other run's"  # Untouched.
        assert _marker(tmp_path, "train") is None
    finally:
        holder.kill()
        holder.wait()
    bundle = load(config, batch_size=5, seed=0)  # The lock died with its process.
    np.testing.assert_array_equal(_epoch(bundle.train), arrays["train_images"])
    assert _marker(tmp_path, "train") is not None


def test_bounded_reads_never_leave_a_memory_cache_half_filled():
    """A partial read of a memory-cached split (the data check's sample, the export
    check's held-out examples) goes on to the end, so the next pass sees every example."""
    import tensorflow as tf

    from zoo.data.pipeline import head, holds_memory_cache

    reads = []

    def count(x):
        reads.append(1)
        return x

    source = tf.data.Dataset.range(300).map(
        lambda x: tf.py_function(count, [x], tf.int64), deterministic=True
    )
    ds = source.cache().map(lambda x: (x, x % 3)).batch(16).prefetch(2)
    assert holds_memory_cache(ds)
    assert not holds_memory_cache(source.batch(16))
    assert not holds_memory_cache(source.cache(str(Path(tempfile.mkdtemp()) / "c")).batch(4))
    x, y = head(ds, 20)
    assert len(x) == 20 and list(y[:4]) == [0, 1, 2, 0]
    assert len(reads) == 300  # The pass went on and filled the cache.
    assert sum(len(b[0]) for b in ds) == 300 and len(reads) == 300  # Served from it.
