"""Bad input met only mid-run, inside tf.data: one message naming the file, exit 2, the
run folder marked failed, nothing half-written trusted (zoo.data.pipeline_errors)."""

import errno
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.data import cache as data_cache
from zoo.data import check
from zoo.data.pipeline_errors import Recorder, explained, translate
from zoo.errors import DataError

REPO = Path(__file__).resolve().parent.parent


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def _op_error(text: str):
    import tensorflow as tf

    return tf.errors.InvalidArgumentError(None, None, text)


# ------------------------------------------------------------------ the translation
def test_full_disk_text_names_the_disk_cache_folder_or_the_run_folder(tmp_path):
    from zoo.config.schema import NpzData

    config = NpzData(source="npz", path="x.npz", cache_dir=str(tmp_path / "c"))
    quota = os.strerror(errno.EDQUOT)
    cached = _op_error(f"{{{{function_node x}}}} {tmp_path}/c/ab12/train/examples_0.data; {quota}")
    error = translate(cached, None, config, tmp_path / "run", "training")
    assert isinstance(error, DataError)
    assert f"disk cache {tmp_path / 'c' / 'ab12' / 'train'} could not be written ({quota}" in str(
        error
    )
    assert "data.cache_dir" in str(error) and "data.cache: none" in str(error)
    elsewhere = _op_error(f"/else/where/f.tmp; {os.strerror(errno.ENOSPC)}")
    error = translate(elsewhere, None, config, tmp_path / "run", "training")
    assert f"writing to {tmp_path / 'run'}" in str(error) and "disk cache" not in str(error)


def test_an_error_nobody_explains_is_raised_unchanged():
    import tensorflow as tf

    class Bundle:
        explain = staticmethod(lambda exc: None)

    original = _op_error("something zoo does not know")
    with pytest.raises(tf.errors.InvalidArgumentError) as raised, explained(Bundle()):
        raise original
    assert raised.value is original  # A bug keeps its own error and traceback.


def test_a_recorded_source_error_replaces_the_op_error():
    recorder = Recorder()
    with pytest.raises(DataError, match="the member"):
        recorder.fail(DataError("the member 'x' of y changed"))

    class Bundle:
        explain = staticmethod(recorder.explain)

    wanted = "the member 'x' of y changed"
    with pytest.raises(DataError, match=wanted) as raised, explained(Bundle()):
        raise _op_error("ValueError: wrapped by py_func")
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# ------------------------------------------------------------------ directory images
def _png(path: Path, colour) -> None:
    import tensorflow as tf

    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((6, 6, 3), colour, np.uint8)
    path.write_bytes(tf.io.encode_png(image).numpy())


def _image_recipe(tmp_path: Path) -> Path:
    """Ten 6x6 PNGs in two class folders, and a one-epoch MLP recipe reading them."""
    for cls, colour in (("blue", [0, 0, 255]), ("red", [255, 0, 0])):
        for i in range(5):
            _png(tmp_path / "images" / "train" / cls / f"{i}.png", colour)
    (tmp_path / "r.yaml").write_text(
        "name: bad_png\nmodel: {name: mlp, params: {hidden_units: [4]}}\n"
        "data: {source: directory, kind: image, path: images, image_size: [6, 6],"
        " splits: {train: train, test: null}, shuffle_buffer: 0}\n"
        "evaluation: {splits: [train]}\n"
        "training: {batch_size: 4, epochs: 1}\nexport: {keras: true, saved_model: false}\n"
    )
    return tmp_path / "r.yaml"


def test_an_undecodable_image_past_the_check_budget_is_named(tmp_path, monkeypatch, caplog):
    from zoo import train_recipe

    recipe = _image_recipe(tmp_path)
    bad = tmp_path / "images" / "train" / "red" / "3.png"
    bad.write_bytes(b"this is no image at all")
    monkeypatch.setattr(check, "DECODE_SECONDS", 0.0)  # The check decodes nothing.
    with caplog.at_level("INFO", logger="zoo"), pytest.raises(DataError) as raised:
        train_recipe(recipe, output_dir=tmp_path / "run", verbose=0)
    message = str(raised.value)
    assert f"the image {bad} cannot be decoded" in message and "Replace or remove it" in message
    assert "the rest unchecked" in caplog.text
    assert "locating the image that failed to decode" in caplog.text
    status = _status(tmp_path / "run")
    assert status["stage"] == "failed" and str(bad) in status["reason"]
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_zoo_evaluate_names_an_undecodable_image_too(tmp_path, monkeypatch):
    from zoo import train_recipe
    from zoo.usecases.evaluate import evaluate

    run = train_recipe(_image_recipe(tmp_path), output_dir=tmp_path / "run", verbose=0).run_dir
    bad = tmp_path / "images" / "train" / "blue" / "0.png"
    bad.write_bytes(b"\x89PNG but cut short")
    monkeypatch.setattr(check, "DECODE_SECONDS", 0.0)
    with pytest.raises(DataError, match=f"the image {re.escape(str(bad))} cannot be decoded"):
        evaluate(run, split="train", output_dir=tmp_path / "e")
    assert not (tmp_path / "e" / "metrics.json").exists()


def test_the_check_still_names_a_bad_image_within_its_budget(tmp_path):
    paths = []
    for i in range(3):
        _png(tmp_path / f"{i}.png", [9, 9, 9])
        paths.append(str(tmp_path / f"{i}.png"))
    (tmp_path / "1.png").write_bytes(b"GIF89a broken")
    with pytest.raises(DataError, match=r"1\.png cannot be decoded"):
        check.decode_images(paths, 3, "train")
    assert check.decode_images(paths, 3, "train", max_seconds=0) == 0


# ------------------------------------------------------------------ npz read in chunks
@pytest.mark.parametrize("keep_mtime", [False, True])
def test_an_npz_truncated_while_the_run_reads_it_is_named(keep_mtime, tmp_path, monkeypatch):
    import keras

    from zoo import load_recipe
    from zoo.data.sources import npz
    from zoo.training import trainer

    monkeypatch.setattr(npz, "INLINE_BYTES", 0)  # Memory-mapped and streamed in chunks...
    monkeypatch.setattr(npz, "CHUNK_BYTES", 64 * 4)  # ...of 4 examples.
    archive = tmp_path / "a.npz"
    np.savez(
        archive,
        train_images=np.zeros((64, 4, 4), np.float32),
        train_labels=np.arange(64) % 2,
        test_images=np.ones((64, 4, 4), np.float32),
        test_labels=np.arange(64) % 2,
    )
    (tmp_path / "r.yaml").write_text(
        "name: short_npz\nmodel: {name: mlp, params: {hidden_units: [4]}}\n"
        "data: {source: npz, path: a.npz, splits: {train: train, test: test},"
        " shuffle_buffer: 0, cache: none}\n"
        "training: {batch_size: 8, epochs: 1}\nexport: {keras: true, saved_model: false}\n"
    )

    class Truncate(keras.callbacks.Callback):  # Another process cuts the file mid-run.
        def on_train_begin(self, logs=None):
            before = archive.stat()
            with open(archive, "r+b") as f:
                f.truncate(before.st_size - 2400)  # Into the test inputs.
            if keep_mtime:  # As `cp -p` or rsync would leave it: only the size tells.
                os.utime(archive, ns=(before.st_atime_ns, before.st_mtime_ns))

    with pytest.raises(DataError) as raised:
        recipe = load_recipe(tmp_path / "r.yaml")
        trainer.run(recipe, output_dir=tmp_path / "run", verbose=0, callbacks=[Truncate()])
    message = str(raised.value)
    assert f"of {archive} changed while the run read it" in message
    assert "truncated or rewritten" in message
    if keep_mtime:
        assert "the member 'test_images'" in message and "now holds" in message
    else:
        assert "the member '" in message and "was modified after the run loaded it" in message
    assert _status(tmp_path / "run")["stage"] == "failed"


# ------------------------------------------------------------------ a full disk
def _small_disk(cache: Path) -> tuple[list[str], object]:
    """(command prefix, preexec) giving the child a disk that fills mid-run: a 192 KiB
    tmpfs at `cache` in a private mount namespace (real ENOSPC) where `unshare` can make
    one, else a 64 KiB file-size limit (EFBIG, as on a FAT disk or under `ulimit -f`)."""
    unshare = shutil.which("unshare")
    probe = [unshare or "unshare", "-Urm", "mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs"]
    if unshare and subprocess.run([*probe, str(cache)], capture_output=True).returncode == 0:
        script = (
            'mount -t tmpfs -o size=192k tmpfs "$CACHE" || exit 99; "$@"; rc=$?; '
            'find "$CACHE" > "$CACHE.listing"; exit $rc'
        )
        return [unshare, "-Urm", "sh", "-c", script, "sh"], None

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process.
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, resource.RLIM_INFINITY))

    return [], limit


def test_a_disk_full_while_caching_fails_the_run_with_one_message(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    rng = np.random.default_rng(0)
    # Each split (~100 KiB cached) fits the free space alone, so the up-front check passes;
    # both do not, so the second is cut short by the full disk mid-run (met once a pass
    # reads that split to its end: here the evaluation of the validation split).
    arrays = {}
    for split in ("train", "val"):
        arrays[f"{split}_images"] = rng.random((400, 8, 8), np.float32)
        arrays[f"{split}_labels"] = np.arange(400) % 2
    np.savez(tmp_path / "a.npz", **arrays)
    (tmp_path / "r.yaml").write_text(
        "name: full_disk\nmodel: {name: mlp, params: {hidden_units: [4]}}\n"
        f"data: {{source: npz, path: a.npz, splits: {{train: train, validation: val, test: null}},"
        f" shuffle_buffer: 0, cache: disk, cache_dir: {cache}}}\n"
        "evaluation: {splits: [validation]}\n"
        "training: {batch_size: 100, epochs: 1}\nexport: {keras: true, saved_model: false}\n"
    )
    prefix, preexec = _small_disk(cache)
    args = ["zoo.train", str(tmp_path / "r.yaml"), "--output-dir", str(tmp_path / "run")]
    done = subprocess.run(
        [*prefix, sys.executable, "-m", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CACHE": str(cache)},
        preexec_fn=preexec,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "error: data.cache: the disk cache " in done.stderr
    assert f"{cache}/" in done.stderr and "data.cache_dir" in done.stderr
    named = re.search(r"the disk cache (\S+) could not be written \((.+?):", done.stderr)
    assert named and Path(named[1]).parent.parent == cache, done.stderr[-3000:]
    assert named[2] in {os.strerror(errno.ENOSPC), os.strerror(errno.EFBIG)}
    listing = Path(f"{cache}.listing")  # Written inside the namespace, before the tmpfs went.
    left = listing.read_text() if listing.exists() else "\n".join(map(str, cache.rglob("*")))
    assert f"{named[1]}/{data_cache.MARKER}" not in left  # The partial cache is not trusted.
    if listing.exists():  # On the tmpfs, the split that fitted was completed and marked.
        assert f"{cache}/{Path(named[1]).parent.name}/train/{data_cache.MARKER}" in left
    status = _status(tmp_path / "run")
    assert status["stage"] == "failed" and "data.cache" in status["reason"]
