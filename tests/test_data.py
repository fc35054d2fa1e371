"""TFDS loading from the manual directory of original files, and its errors."""

import numpy as np
import pytest

from zoo.config.schema import TfdsData
from zoo.data import load
from zoo.data.sources.tfds import prepare
from zoo.errors import DataError


def test_mnist_bundle_from_manual_dir(mnist_ready):
    config = TfdsData(
        name="mnist", splits={"train": "train[:256]", "validation": None, "test": "test[:100]"}
    )
    bundle = load(config, batch_size=32, seed=0)
    info = bundle.info
    assert info.input_name == "image"
    assert info.input_shape == (28, 28, 1) and info.input_dtype == "uint8"
    assert info.num_classes == 10 and info.class_names[:3] == ("0", "1", "2")
    assert info.num_examples == {"train": 256, "test": 100}
    assert bundle.validation is None
    x, y = next(iter(bundle.train))
    assert x.shape == (32, 28, 28, 1) and x.dtype.name == "uint8"
    assert y.shape == (32,)
    labels = np.concatenate([y.numpy() for _, y in bundle.test])
    assert len(labels) == 100 and set(labels) <= set(range(10)) and len(set(labels)) == 10


def test_train_split_is_shuffled_reproducibly(mnist_ready):
    config = TfdsData(name="mnist", splits={"train": "train[:512]", "test": None})

    def first_labels(seed):
        bundle = load(config, batch_size=64, seed=seed)
        return next(iter(bundle.train))[1].numpy().tolist()

    assert first_labels(1) == first_labels(1)
    assert first_labels(1) != first_labels(2)


def test_missing_raw_files_are_named_at_once(tmp_path):
    empty = tmp_path / "manual"
    empty.mkdir()
    (empty / "train-images-idx3-ubyte.gz").write_bytes(b"")
    config = TfdsData(name="mnist", data_dir=str(tmp_path / "prepared"), manual_dir=str(empty))
    with pytest.raises(DataError) as err:
        prepare(config)
    text = str(err.value)
    assert str(empty) in text
    for name in (
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        assert name in text
    assert "train-images-idx3-ubyte.gz" not in text  # present, so not reported
    assert "9,912,422 bytes" not in text and "1,648,877 bytes" in text
    assert not (tmp_path / "prepared" / "mnist").exists() or not any(
        (tmp_path / "prepared" / "mnist").rglob("*.tfrecord*")
    )


def test_unknown_dataset_suggests_a_name():
    with pytest.raises(DataError, match="Did you mean 'mnist'"):
        prepare(TfdsData(name="mnistt"))


def test_bad_split_expression(mnist_ready):
    with pytest.raises(DataError, match=r"data\.splits\.validation"):
        load(TfdsData(name="mnist", splits={"validation": "valid"}), batch_size=8, seed=0)


def test_bad_feature_names(mnist_ready):
    with pytest.raises(DataError, match="Did you mean 'image'"):
        load(TfdsData(name="mnist", features=("imag", "label")), batch_size=8, seed=0)


def test_preprocessor_feeds_training_and_sits_in_front_of_the_exported_model():
    """One mechanism: `model_ready` maps the preprocessor over a split, and
    `with_preprocessor` composes it in front of the model so the result takes raw input."""
    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.data import DataBundle, DataInfo
    from zoo.exporting.writers import with_preprocessor

    raw = np.array([b"a b", b"b c c", b"zzz"], dtype=object)  # As tf.data hands them out.
    ds = tf.data.Dataset.from_tensor_slices((raw, [0, 1, 0])).batch(3)
    vectorizer = keras.layers.TextVectorization(max_tokens=10, output_sequence_length=4)
    vectorizer.adapt(raw)
    info = DataInfo(input_name="text", input_shape=(), input_dtype="string", num_classes=2)
    bundle = DataBundle(info=info, train=ds, preprocessor=vectorizer)

    (tokens, labels), *_ = list(bundle.model_ready("train"))
    assert tokens.dtype == tf.int64 and tokens.shape == (3, 4) and list(labels) == [0, 1, 0]
    assert bundle.model_ready("test") is None  # Absent splits stay absent.

    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    served = with_preprocessor(inner, vectorizer, info)
    assert served.inputs[0].dtype == "string" and served.inputs[0].name == "text"
    np.testing.assert_allclose(served(tf.constant(raw)), inner(tokens), atol=1e-6)
    assert with_preprocessor(inner, None, info) is inner


# ------------------------------------------------------------------ archive caps
def _tar_gz(path, members: dict[str, bytes]):
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_archive_over_the_ratio_cap_is_refused_before_writing(tmp_path):
    import zipfile

    from zoo.data.archive import extract

    bomb = _tar_gz(tmp_path / "bomb.tar.gz", {"d/train/a/x.txt": b"\0" * 4_000_000})
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"bomb\.tar\.gz declares 4,000,000 bytes") as err:
        extract(bomb, cache)
    assert "ZOO_EXTRACT_MAX_RATIO" in str(err.value)
    assert not any(cache.iterdir())  # Nothing half-extracted.
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/b.txt", b"\0" * 3_000_000)
    with pytest.raises(DataError, match=r"bomb\.zip declares 3,000,000 bytes"):
        extract(tmp_path / "bomb.zip", cache)


def test_archive_over_the_size_cap_is_refused(tmp_path, monkeypatch):
    import os

    from zoo.data.archive import extract

    archive = _tar_gz(tmp_path / "big.tar.gz", {"x/y.txt": os.urandom(5000)})
    monkeypatch.setenv("ZOO_EXTRACT_LIMIT_BYTES", "4096")
    with pytest.raises(DataError, match=r"over the extraction limits of 4,096 bytes"):
        extract(archive, tmp_path / "cache")
    monkeypatch.setenv("ZOO_EXTRACT_LIMIT_BYTES", "lots")
    with pytest.raises(DataError, match=r"ZOO_EXTRACT_LIMIT_BYTES='lots' is not a positive"):
        extract(archive, tmp_path / "cache")
    monkeypatch.setenv("ZOO_EXTRACT_LIMIT_BYTES", "10000")
    assert (extract(archive, tmp_path / "cache") / "x" / "y.txt").stat().st_size == 5000


def test_extraction_stops_at_the_cap_whatever_the_headers_declared(tmp_path):
    """The byte count while writing is the real guard; headers can lie."""
    import io

    from zoo.data.archive import _Budget

    archive = tmp_path / "a.zip"
    archive.write_bytes(b"x" * 100)  # 100 bytes packed: 20,000 allowed at 200:1.
    budget = _Budget(archive)
    budget.declare(10)  # What a lying header would say.
    with pytest.raises(DataError, match="expands to more than"):
        budget.copy(io.BytesIO(b"\0" * 30_000), tmp_path / "out")


def test_unwritable_extract_folder_is_one_message(tmp_path):
    from zoo.data.archive import extract

    archive = _tar_gz(tmp_path / "ok.tar.gz", {"t/a.txt": b"hello"})
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(DataError, match=r"extraction folder .*afile/sub cannot be written") as e:
        extract(archive, tmp_path / "afile" / "sub")
    assert "data.extract_dir" in str(e.value)


def test_tfds_splits_estimate_their_decoded_size_and_carry_the_data_version(mnist_ready):
    from zoo.data import cache as data_cache

    config = TfdsData(
        name="mnist",
        splits={"train": "train[:256]", "validation": None, "test": "test[:100]"},
        cache="auto",
    )
    data_cache.decisions.clear()
    bundle = load(config, batch_size=32, seed=0)
    assert data_cache.decisions == [("train", "memory"), ("test", "memory")]
    name, _folder, files = bundle.version
    assert name.startswith("mnist/") and any(
        f[0].endswith(".tfrecord-00000-of-00001") for f in files
    )
    builder = prepare(config)
    from zoo.data.sources.tfds import _decoded_bytes

    image = builder.info.features["image"]
    assert _decoded_bytes(image, 256, None) == 256 * (28 * 28 + 8)
    # A split of unknown shape falls back to its stored bytes; unknown stays unknown.
    text = type("Text", (), {"shape": (), "np_dtype": object})()
    assert (
        _decoded_bytes(text, 10, builder.info.splits["test"])
        == 4 * builder.info.splits["test"].num_bytes
    )
    assert _decoded_bytes(text, 10, None) is None
