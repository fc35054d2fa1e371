"""The data check (`zoo.data.check`, run by `zoo.data.load`): every source refuses data a
model cannot mean what the recipe says, naming the split and the index, line or file.

All in-process on tiny data; the CLI exit codes are in tests/test_check_run.py."""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from zoo.config.schema import CsvData, DirectoryData, NpzData
from zoo.data import load
from zoo.data.check import MAX_INFERRED_CLASSES
from zoo.errors import DataError


# ------------------------------------------------------------------ npz
def _arrays(n: int = 12, classes: int = 3, dtype=np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for split, size in (("train", n), ("val", 6), ("test", 6)):
        out[f"{split}_images"] = rng.random((size, 4, 4)).astype(dtype)
        out[f"{split}_labels"] = (np.arange(size) % classes).astype(np.int64)
    return out


def _npz(tmp_path: Path, **arrays) -> str:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    return str(path)


def _npz_config(path: str, **fields) -> NpzData:
    fields.setdefault("splits", {"train": "train", "validation": "val"})
    return NpzData(source="npz", path=path, **fields)


def _refused(config, match: str | None = None) -> str:
    with pytest.raises(DataError) as err:
        load(config, batch_size=4, seed=0)
    text = str(err.value)
    assert "\n" not in text.strip()  # One paragraph.
    if match:
        assert match in text, text
    return text


@pytest.mark.parametrize(
    ("split", "key", "value"),
    [("train", "train_images", np.nan), ("validation", "val_images", np.inf)],
)
def test_npz_nan_or_inf_names_split_and_index(tmp_path, split, key, value):
    arrays = _arrays()
    arrays[key][3, 1, 2] = value
    arrays[key][5, 0, 0] = value
    text = _refused(_npz_config(_npz(tmp_path, **arrays)), f"data.splits.{split}")
    assert "index 3" in text and key in text and "NaN or infinite" in text


def test_npz_nan_in_float16_and_a_late_chunk_is_found(tmp_path, monkeypatch):
    import zoo.data.check as check

    monkeypatch.setattr(check, "CHUNK_ELEMENTS", 16)  # One example per chunk.
    arrays = _arrays(dtype=np.float16)
    arrays["train_images"][11, 3, 3] = np.nan
    assert "index 11" in _refused(_npz_config(_npz(tmp_path, **arrays)), "data.splits.train")


def test_stray_label_without_class_names_is_refused_before_a_model(tmp_path):
    arrays = _arrays()
    arrays["train_labels"][7] = 10**6
    text = _refused(_npz_config(_npz(tmp_path, **arrays)), "label 1000000")
    assert "data.splits.train" in text and "index 7" in text and "class_names" in text
    assert "1,000,001-class" in text


def test_inferred_class_count_is_bounded(tmp_path):
    arrays = _arrays()
    arrays["test_labels"][2] = MAX_INFERRED_CLASSES  # One past the bound, in the test split.
    config = _npz_config(_npz(tmp_path, **arrays), splits={"train": "train", "test": "test"})
    _refused(config, "data.splits.test: label 10000")


def test_label_outside_named_classes_is_refused(tmp_path):
    arrays = _arrays()
    arrays["val_labels"][4] = 3
    text = _refused(_npz_config(_npz(tmp_path, **arrays), class_names=("a", "b", "c")), "label 3")
    assert "data.splits.validation" in text and "index 4" in text


def test_classes_the_training_split_never_shows_are_refused(tmp_path):
    arrays = _arrays()
    arrays["train_labels"][0] = 6  # 0..2 and 6: classes 3, 4, 5 have no example.
    text = _refused(_npz_config(_npz(tmp_path, **arrays)), "no example of class 3, 4, 5")
    assert "data.splits.train" in text


def test_single_class_and_negative_labels_are_refused(tmp_path):
    arrays = _arrays()
    arrays["train_labels"][:] = 1
    arrays["val_labels"][:] = 1
    _refused(_npz_config(_npz(tmp_path, **arrays)), "one class")
    arrays = _arrays()
    arrays["train_labels"][2] = -1
    _refused(_npz_config(_npz(tmp_path, **arrays)), "label -1 at index 2")


@pytest.mark.parametrize(
    ("member", "value", "words"),
    [
        ("train_images", np.float32(1.5), "0-d scalar"),
        ("train_images", np.array(["a", "b"] * 6), "strings"),
        ("train_images", np.array([b"a", b"b"] * 6), "byte strings"),
        ("train_images", np.arange(12).astype("datetime64[D]"), "datetimes"),
        ("train_images", np.arange(12).astype("timedelta64[s]"), "time deltas"),
        ("train_images", np.zeros(12, dtype=[("a", "i4"), ("b", "f4")]), "structured"),
        ("train_images", np.zeros((12, 4), np.complex64), "complex"),
        ("train_images", np.zeros((12, 4), np.uint64), "uint64"),
        ("train_labels", np.int64(1), "0-d scalar"),
        ("train_labels", np.arange(12, dtype=np.uint64) % 3, "uint64"),
        ("train_labels", np.array(["x", "y", "z"] * 4), "strings"),
        ("train_labels", np.zeros(12, bool), "labels must be integer"),
    ],
)
def test_npz_members_of_bad_kinds_are_named(tmp_path, member, value, words):
    arrays = dict(_arrays(), **{member: value})
    text = _refused(_npz_config(_npz(tmp_path, **arrays)), words)
    assert repr(member) in text and "data.splits.train" in text


def test_npy_as_data_path_says_what_an_npz_holds(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    text = _refused(_npz_config(str(tmp_path / "x.npy")), "single NumPy array (.npy)")
    assert "train_images" in text and "numpy.savez" in text


def test_truncated_and_corrupt_npz(tmp_path):
    path = Path(_npz(tmp_path, **_arrays()))
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    _refused(_npz_config(str(tmp_path / "cut.npz")), "not a readable .npz archive")
    # A damaged member inside an otherwise intact archive: its data bytes overwritten.
    big = dict(_arrays(n=200))
    np.savez_compressed(tmp_path / "c.npz", **big)
    raw = bytearray((tmp_path / "c.npz").read_bytes())
    at = raw.index(b"train_images.npy") + 200
    raw[at : at + 200] = b"\x00" * 200
    (tmp_path / "c.npz").write_bytes(bytes(raw))
    _refused(_npz_config(str(tmp_path / "c.npz")), "'train_images'")


def test_check_false_skips_and_says_so(tmp_path, caplog):
    arrays = _arrays()
    arrays["train_images"][0, 0, 0] = np.nan
    with caplog.at_level(logging.INFO, logger="zoo"):
        bundle = load(_npz_config(_npz(tmp_path, **arrays), check=False), batch_size=4, seed=0)
    assert bundle.info.num_examples["train"] == 12
    assert "data check skipped (data.check: false)" in caplog.text


def test_passing_check_logs_one_line_per_split(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="zoo"):
        load(_npz_config(_npz(tmp_path, **_arrays())), batch_size=4, seed=0)
    assert "data check: train: 12 examples (all checked), 3 classes seen of 3" in caplog.text
    assert "data check: validation: 6 examples" in caplog.text
    assert "labels 0:4 1:4 2:4" in caplog.text


# ------------------------------------------------------------------ csv
def _csv(tmp_path: Path, body: str, **fields) -> CsvData:
    path = tmp_path / "t.csv"
    path.write_text(body)
    base = {"source": "csv", "path": str(path), "label_column": "y"}
    base.setdefault("feature_columns", ["a", "b"])
    return CsvData(**{**base, **fields})


GOOD = "a,b,y\n" + "".join(f"{i},{i % 3},{'pq'[i % 2]}\n" for i in range(10))


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-Infinity"])
def test_csv_nan_features_name_the_line(tmp_path, cell):
    lines = GOOD.splitlines()
    lines[5] = f"4,{cell},q"  # File line 6.
    text = _refused(_csv(tmp_path, "\n".join(lines) + "\n"), "line 6 of")
    assert "data.splits.train" in text and "NaN or infinite" in text


@pytest.mark.parametrize("cell", ["", "  ", "n/a"])
def test_csv_blank_or_text_feature_cells_name_line_and_column(tmp_path, cell):
    lines = GOOD.splitlines()
    lines[3] = f"{cell},1,p"
    text = _refused(_csv(tmp_path, "\n".join(lines) + "\n"), "line 4")
    assert "'a'" in text and "not a number" in text


@pytest.mark.parametrize("label", ["", "   "])
def test_csv_blank_labels_are_not_a_class(tmp_path, label):
    lines = GOOD.splitlines()
    lines[8] = f"1,2,{label}"
    text = _refused(_csv(tmp_path, "\n".join(lines) + "\n"), "line 9")
    assert "blank" in text and "not a class" in text


def test_csv_blank_label_in_a_text_csv_with_a_quoted_multiline_cell(tmp_path):
    body = 'text,y\n"two\nlines",p\nfine,q\nalso,\n'
    text = _refused(_csv(tmp_path, body, feature_columns=None, text_column="text"), "line 5")
    assert "blank" in text


def test_csv_single_class_is_refused(tmp_path):
    body = "a,b,y\n" + "".join(f"{i},{i},only\n" for i in range(10))
    text = _refused(_csv(tmp_path, body), "data.splits.train")
    assert "'only'" in text and "one class" in text


def test_csv_rows_with_the_wrong_number_of_columns_name_the_line(tmp_path):
    lines = GOOD.splitlines()
    lines[2] = "1,2,p,extra"
    _refused(_csv(tmp_path, "\n".join(lines) + "\n"), "line 3 has 4 columns")
    lines[2] = "1,p"
    _refused(_csv(tmp_path, "\n".join(lines) + "\n"), "line 3 has 2 columns")


def test_csv_check_false_keeps_nan_rows(tmp_path):
    lines = GOOD.splitlines()
    lines[5] = "4,nan,q"
    bundle = load(_csv(tmp_path, "\n".join(lines) + "\n", check=False), batch_size=4, seed=0)
    assert bundle.info.num_examples["train"] == 10


# ------------------------------------------------------------------ directory
def _tree(root: Path, kind: str = "text", n: int = 3) -> Path:
    for split in ("train", "test"):
        for c in ("neg", "pos"):
            folder = root / split / c
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                if kind == "text":
                    (folder / f"{i}.txt").write_text(f"{c} words {i}")
                else:
                    (folder / f"{i}.png").write_bytes(_png(i))
    return root


def _png(seed: int) -> bytes:
    import tensorflow as tf

    image = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return tf.io.encode_png(image).numpy()


def _jpeg(seed: int) -> bytes:
    import tensorflow as tf

    image = np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    return tf.io.encode_jpeg(image).numpy()


def _dir_config(root: Path, kind: str = "text", **fields) -> DirectoryData:
    extra = {"image_size": (8, 8)} if kind == "image" else {}
    base = {"source": "directory", "path": str(root), "kind": kind, "class_names": ["neg", "pos"]}
    return DirectoryData(**{**base, **extra, **fields})


def _refused_within(config, match: str, seconds: float = 60) -> str:
    """`_refused`, but a hang (a FIFO read) fails the test instead of blocking it."""
    out: dict[str, object] = {}

    def attempt():
        try:
            load(config, batch_size=4, seed=0)
            out["result"] = "loaded"
        except DataError as exc:
            out["result"] = str(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(seconds)
    assert "result" in out, "load blocked"
    assert match in str(out["result"]), out["result"]
    return str(out["result"])


def test_fifo_in_a_class_folder_is_refused_without_blocking(tmp_path):
    root = _tree(tmp_path / "r")
    fifo = root / "train" / "pos" / "blocked.txt"
    os.mkfifo(fifo)
    text = _refused_within(_dir_config(root), "FIFO")
    assert str(fifo) in text and "data.splits.train" in text


def test_fifo_with_the_check_off_is_still_refused(tmp_path):
    root = _tree(tmp_path / "r")
    os.mkfifo(root / "test" / "neg" / "x.txt")
    _refused_within(_dir_config(root, check=False), "data.splits.test")


def test_socket_in_a_class_folder_is_refused(tmp_path):
    root = _tree(tmp_path / "r")
    path = root / "train" / "neg" / "s.txt"
    if len(str(path)) > 100:  # AF_UNIX paths are short; bind from inside the folder.
        pytest.skip("temporary path too long for a unix socket")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        _refused_within(_dir_config(root), "a socket")


@pytest.mark.parametrize("kind", ["text", "image"])
def test_dangling_symlink_is_named(tmp_path, kind):
    root = _tree(tmp_path / "r", kind)
    suffix = ".txt" if kind == "text" else ".png"
    link = root / "train" / "neg" / f"gone{suffix}"
    link.symlink_to(tmp_path / "nowhere")
    text = _refused_within(_dir_config(root, kind), "dangling")
    assert str(link) in text


def test_symlink_to_a_real_file_is_read(tmp_path):
    root = _tree(tmp_path / "r")
    (tmp_path / "extra.txt").write_text("pos words extra")
    (root / "train" / "pos" / "linked.txt").symlink_to(tmp_path / "extra.txt")
    bundle = load(_dir_config(root), batch_size=4, seed=0)
    assert bundle.info.num_examples["train"] == 7


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("bad.png", lambda: b"\x89PNG\r\n\x1a\n" + b"junk" * 20),
        ("cut.png", lambda: _png(9)[:60]),
        ("cut.jpg", lambda: _jpeg(9)[: len(_jpeg(9)) // 3]),
        ("bad.jpeg", lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 64),
        ("text.png", lambda: b"just some text"),
        ("empty.gif", lambda: b""),
    ],
)
def test_corrupt_or_truncated_images_are_named(tmp_path, name, damage):
    root = _tree(tmp_path / "r", "image")
    bad = root / "train" / "pos" / name
    bad.write_bytes(damage())
    text = _refused(_dir_config(root, "image"), "cannot be decoded")
    assert str(bad) in text and "data.splits.train" in text


def test_good_images_including_jpeg_pass(tmp_path, caplog):
    root = _tree(tmp_path / "r", "image")
    (root / "train" / "pos" / "ok.JPG").write_bytes(_jpeg(1))
    with caplog.at_level(logging.INFO, logger="zoo"):
        bundle = load(_dir_config(root, "image"), batch_size=4, seed=0)
    assert bundle.info.num_examples == {"train": 7, "test": 6}
    assert "data check: train: 7 examples (all checked), 2 classes seen of 2" in caplog.text


def test_empty_class_folder_in_training_is_refused(tmp_path):
    root = _tree(tmp_path / "r")
    for f in (root / "train" / "neg").iterdir():
        f.unlink()
    text = _refused(_dir_config(root), "has label 1 ('pos')")
    assert "data.splits.train" in text and "one class" in text
    (root / "train" / "mid").mkdir()  # Three classes, one of them empty: named.
    (root / "test" / "mid").mkdir()
    (root / "train" / "neg" / "a.txt").write_text("neg words")
    text = _refused(_dir_config(root, class_names=["neg", "mid", "pos"]), "class 1 ('mid')")


def test_a_single_class_folder_is_refused(tmp_path):
    root = _tree(tmp_path / "r")
    _refused(_dir_config(root, class_names=["pos"]), "one class")


# ------------------------------------------------------------------ sampled (TFDS-like)
def _bundle(examples, num_classes=3, names=("a", "b", "c")):
    import tensorflow as tf

    from zoo.data.bundle import DataBundle, DataInfo

    def gen():
        yield from examples

    spec = (tf.TensorSpec((None,), tf.float32), tf.TensorSpec((), tf.int64))
    raw = tf.data.Dataset.from_generator(gen, output_signature=spec)
    info = DataInfo("x", (None,), "float32", num_classes=num_classes, class_names=names)
    return DataBundle(info=info, train=raw.padded_batch(2), raw={"train": raw})


def _tfds_config(**fields):
    from zoo.config.schema import TfdsData

    return TfdsData(name="anything", **fields)


def test_sampled_split_of_varying_shapes_names_nan_and_stray_labels():
    from zoo.data.check import check_bundle

    good = [(np.ones(n, np.float32), n % 3) for n in range(1, 10)]
    report = check_bundle(_bundle(good), _tfds_config())
    assert report.splits["train"].label_counts == {0: 3, 1: 3, 2: 3}
    nan = [*good[:4], (np.array([1.0, np.nan], np.float32), 1), *good[4:]]
    with pytest.raises(DataError, match=r"data\.splits\.train: the input at index 4 holds NaN"):
        check_bundle(_bundle(nan), _tfds_config())
    stray = [*good, (np.ones(2, np.float32), 7)]
    with pytest.raises(DataError, match=r"label 7 at index 9 is outside the 3 classes"):
        check_bundle(_bundle(stray), _tfds_config())
    assert check_bundle(_bundle(nan), _tfds_config(check=False)).skipped


def test_sampled_scan_stops_at_its_bound_and_says_it_was_a_sample():
    from zoo.data.check import check_bundle, scan_dataset

    many = [(np.ones(2, np.float32), i % 3) for i in range(40)]
    stats = scan_dataset("train", _bundle(many).raw["train"], max_examples=1)
    assert not stats.complete and stats.examples >= 1
    one_class = [(np.ones(2, np.float32), 0)] * 5
    with pytest.raises(DataError, match="one class"):
        check_bundle(_bundle(one_class), _tfds_config())


def test_gap_in_labels_is_refused_with_or_without_class_names(tmp_path):
    """Labels {0, 1, 4}: classes 2 and 3 have no training example. Without class names the
    gap is a stray label; with them, a class the files never show. Either way the model
    would have outputs it never learns. (Slices of TFDS datasets, whose metadata declares
    the classes, only warn: tests/test_video.py's UCF101 mock data.)"""
    arrays = _arrays(classes=2)
    arrays["train_labels"][3] = 4
    text = _refused(_npz_config(_npz(tmp_path, **arrays)), "no example of class 2, 3")
    assert "stray label" in text and "class_names" in text
    named = _npz_config(str(tmp_path / "d.npz"), class_names=["a", "b", "c", "d", "e"])
    _refused(named, "no example of class 2 ('c'), 3 ('d')")
