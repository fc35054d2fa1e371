"""Image options (resize, rescale, training-only augmentation), directory images, and
the TFDS recipes we cannot download here (cifar10, imdb_reviews) run on mock data."""

import numpy as np
import pytest

from zoo.config.schema import DirectoryData, ImageOptions
from zoo.data import DataBundle, DataInfo, load
from zoo.data.preprocessing.image import apply
from zoo.errors import DataError


def _bundle(images: np.ndarray):
    import tensorflow as tf

    labels = np.arange(len(images)) % 2
    info = DataInfo(input_name="image", input_shape=images.shape[1:], input_dtype="uint8")
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(len(images))
    return DataBundle(info=info, train=ds, validation=ds, test=ds)


def test_augmentation_on_training_only_and_preprocessing_in_the_preprocessor():
    images = np.zeros((8, 12, 12, 3), np.uint8)
    images[:, :, :4] = 200  # Bright left edge: a horizontal flip moves it right.
    options = ImageOptions(resize=(6, 6), rescale=1 / 255, augment={"flip": "horizontal"})
    bundle = apply(options, _bundle(images), seed=3)
    train, _ = next(iter(bundle.train))
    assert train.dtype.name == "uint8" and train.shape == images.shape  # Still raw.
    flipped = [not np.array_equal(t, images[0]) for t in train.numpy()]
    assert any(flipped) and not all(flipped)
    for split in ("validation", "test"):
        raw, _ = next(iter(bundle.split(split)))
        np.testing.assert_array_equal(raw.numpy(), images)  # Never augmented.
    ready, _ = next(iter(bundle.model_ready("test")))
    assert ready.shape == (8, 6, 6, 3) and ready.dtype.name == "float32"
    np.testing.assert_allclose(ready.numpy()[0, :, 0], 200 / 255, atol=1e-6)
    assert bundle.info.model_params()["input_shape"] == (6, 6, 3)
    assert bundle.preprocessor.inputs[0].dtype == "uint8"


def test_pad_and_crop_cuts_each_image_at_its_own_offset_of_the_zero_padded_image():
    images = np.arange(1, 16 * 5 * 5 + 1, dtype=np.uint8).reshape(16, 5, 5, 1)
    bundle = apply(ImageOptions(augment={"crop": 2}), _bundle(images), seed=3)
    train, _ = next(iter(bundle.train))
    assert train.dtype.name == "uint8" and train.shape == images.shape
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)])
    offsets = []
    for i, out in enumerate(train.numpy()):
        windows = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if np.array_equal(padded[i, dy : dy + 5, dx : dx + 5], out)
        ]
        assert len(windows) == 1  # Exactly one window of the padded image, never resampled.
        offsets.append(windows[0])
    assert len(set(offsets)) > 3  # Offsets are drawn per image, not once per batch.
    for split in ("validation", "test"):
        raw, _ = next(iter(bundle.split(split)))
        np.testing.assert_array_equal(raw.numpy(), images)  # Never augmented.


def test_image_options_refuse_text_inputs():
    import tensorflow as tf

    info = DataInfo(input_name="text", input_shape=(), input_dtype="string")
    ds = tf.data.Dataset.from_tensor_slices((["a"], [0])).batch(1)
    with pytest.raises(DataError, match=r"data\.image applies to images"):
        apply(ImageOptions(rescale=0.5), DataBundle(info=info, train=ds), seed=0)


def test_directory_of_images(tmp_path):
    import tensorflow as tf

    for cls, colour in (("blue", [0, 0, 255]), ("red", [255, 0, 0])):
        folder = tmp_path / "train" / cls
        folder.mkdir(parents=True)
        for i in range(6):
            image = np.full((10, 14, 3), colour, np.uint8)
            (folder / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())
    config = DirectoryData(
        source="directory",
        kind="image",
        path=str(tmp_path),
        splits={"train": "train", "test": None},
        image_size=(8, 8),
        validation_fraction=0.5,
        image={"rescale": 1 / 255},
    )
    bundle = load(config, batch_size=4, seed=0)
    info = bundle.info
    assert info.class_names == ("blue", "red") and info.num_examples == {
        "train": 6,
        "validation": 6,
    }
    assert (info.input_shape, info.input_dtype) == ((8, 8, 3), "float32")
    for x, y in bundle.model_ready("validation"):
        reds = x.numpy()[:, 0, 0, 0]
        np.testing.assert_allclose(reds, y.numpy().astype(float), atol=1e-6)  # red → 1


@pytest.mark.slow  # Two whole recipes (train, evaluate, export): about 35 s.
@pytest.mark.parametrize(
    ("recipe", "input_name", "dtype", "shape"),
    [
        ("recipes/cifar10_cnn_tfds.yaml", "image", "uint8", [None, 32, 32, 3]),
        ("recipes/imdb_reviews_tfds.yaml", "text", "string", [None]),
    ],
)
def test_tfds_recipes_run_on_mock_data(recipe, input_name, dtype, shape, tmp_path, monkeypatch):
    """The pipelines of datasets we cannot download run end to end on TFDS mock data."""
    monkeypatch.delenv("ZOO_TFDS_MANUAL_DIR")  # MNIST's raw files; mock data needs none.
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from zoo import load_recipe, train_recipe

    overrides = [
        "training.epochs=1",
        "training.steps_per_epoch=2",
        "training.batch_size=16",
        "data.shuffle_buffer=64",
    ]
    if "imdb" in recipe:
        overrides += [
            "data.text.sequence_length=32",
            "model.params.units=[8]",
            "model.params.embedding_dim=8",
        ]
    else:
        overrides += ["model.params.filters=[8, 16]", "model.params.dense_units=16"]
    with tfds.testing.mock_data(num_examples=64):
        result = train_recipe(
            load_recipe(recipe, overrides), output_dir=tmp_path / "run", verbose=0
        )
    assert result.metrics["training"]["epochs"] == 1
    assert all(v["ok"] for v in result.metrics["export"].values())
    serve = tf.saved_model.load(str(result.run_dir / "saved_model")).signatures["serving_default"]
    spec = serve.structured_input_signature[1][input_name]
    assert spec.dtype.name == dtype and spec.shape.as_list() == shape
