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
    from zoo.export.writers import with_preprocessor

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
