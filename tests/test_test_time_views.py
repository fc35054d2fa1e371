"""data.image.test_time and data.video.test_time: the evaluated and exported model
averages over flipped and shifted views of each image or clip."""

import numpy as np
import pytest

from zoo import build_model, load_recipe, train_recipe
from zoo.config.schema import TestTimeViews
from zoo.data import DataInfo
from zoo.exporting.writers import builder_model, with_preprocessor

IMAGES = np.random.default_rng(0).uniform(0, 255, (6, 8, 10, 3)).astype("float32")
INFO = DataInfo("image", (8, 10, 3), "float32", num_classes=3)


def _inner():
    return build_model("mlp", input_shape=(8, 10, 3), num_classes=3, hidden_units=[8])


@pytest.mark.parametrize(
    ("mode", "mirrors"),
    [
        ("horizontal", [IMAGES[:, :, ::-1]]),
        ("vertical", [IMAGES[:, ::-1]]),
        ("horizontal_and_vertical", [IMAGES[:, :, ::-1], IMAGES[:, ::-1], IMAGES[:, ::-1, ::-1]]),
    ],
)
def test_the_wrapper_averages_the_model_over_the_image_and_its_mirrors(mode, mirrors):
    inner = _inner()
    wrapped = with_preprocessor(inner, None, INFO, TestTimeViews(flip=mode))
    views = [IMAGES, *mirrors]
    by_hand = np.mean([inner.predict(v, verbose=0) for v in views], axis=0)
    np.testing.assert_allclose(wrapped.predict(IMAGES, verbose=0), by_hand, rtol=1e-5, atol=1e-6)
    # Not the single view: the mirrors change this (asymmetric) model's answers.
    assert not np.allclose(by_hand, inner.predict(IMAGES, verbose=0), atol=1e-4)
    assert wrapped.count_params() == inner.count_params()  # One set of weights.
    assert builder_model(wrapped) is inner


def _shifted(images, offset):
    """Moved `offset` pixels down and right (negative: up and left), zero-filled."""
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    if offset >= 0:
        out[:, offset:, offset:] = images[:, : h - offset, : w - offset]
    else:
        out[:, :offset, :offset] = images[:, -offset:, -offset:]
    return out


@pytest.mark.parametrize("offset", [1, -2, 3])
def test_shift_moves_images_diagonally_and_fills_with_zeros(offset):
    from zoo.models.layers import Shift

    np.testing.assert_array_equal(np.asarray(Shift(offset)(IMAGES)), _shifted(IMAGES, offset))


def test_shifts_are_taken_of_the_image_and_of_each_mirror():
    inner = _inner()
    wrapped = with_preprocessor(inner, None, INFO, TestTimeViews(flip="horizontal", shift=2))
    mirror = IMAGES[:, :, ::-1]
    views = [IMAGES, mirror] + [_shifted(v, d) for v in (IMAGES, mirror) for d in (2, -2)]
    by_hand = np.mean([inner.predict(v, verbose=0) for v in views], axis=0)
    np.testing.assert_allclose(wrapped.predict(IMAGES, verbose=0), by_hand, rtol=1e-5, atol=1e-6)
    shift_only = with_preprocessor(inner, None, INFO, TestTimeViews(shift=1))
    by_hand = np.mean(
        [inner.predict(v, verbose=0) for v in (IMAGES, _shifted(IMAGES, 1), _shifted(IMAGES, -1))],
        axis=0,
    )
    np.testing.assert_allclose(shift_only.predict(IMAGES, verbose=0), by_hand, rtol=1e-5, atol=1e-6)


def _shifted_clips(clips, offset):
    """Each frame of (B, T, H, W, C) clips moved as `_shifted` moves an image."""
    b, t = clips.shape[:2]
    return _shifted(clips.reshape(b * t, *clips.shape[2:]), offset).reshape(clips.shape)


def _clip_views(clips, shift):
    """The clips, their left-right mirrors, and both moved by +shift and -shift pixels."""
    mirror = clips[:, :, :, ::-1]
    return [clips, mirror] + [
        _shifted_clips(v, d) for v in (clips, mirror) for d in (shift, -shift)
    ]


def test_clips_are_flipped_and_shifted_every_frame_alike():
    from zoo.models.layers import Shift

    clips = np.random.default_rng(2).uniform(0, 1, (3, 4, 8, 10, 1)).astype("float32")
    for offset in (2, -1):
        by_frame = _shifted_clips(clips, offset)  # Each frame shifted as an image.
        np.testing.assert_array_equal(np.asarray(Shift(offset)(clips)), by_frame)
    inner = build_model("video_cnn", input_shape=(4, 8, 10, 1), num_classes=3, filters=[4])
    info = DataInfo("video", (4, 8, 10, 1), "float32", num_classes=3)
    wrapped = with_preprocessor(inner, None, info, TestTimeViews(flip="horizontal", shift=1))
    by_hand = np.mean([inner.predict(v, verbose=0) for v in _clip_views(clips, 1)], axis=0)
    np.testing.assert_allclose(wrapped.predict(clips, verbose=0), by_hand, rtol=1e-5, atol=1e-6)
    assert not np.allclose(by_hand, inner.predict(clips, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    ("views", "count", "words"),
    [
        (
            TestTimeViews(flip="horizontal"),
            2,
            "2 views: the image and 1 mirror image (horizontal flip)",
        ),
        (TestTimeViews(shift=2), 3, "3 views: the image, also shifted ±2 px"),
        (
            TestTimeViews(flip="horizontal_and_vertical", shift=1),
            12,
            "12 views: the image and 3 mirror images (horizontal and vertical flip), each "
            "also shifted ±1 px",
        ),
    ],
)
def test_views_are_counted_and_described(views, count, words):
    assert len(views.views()) == count
    assert views.views()[0] == (None, 0)  # The image itself first.
    assert views.describe() == words
    clip_words = views.describe("clip")
    assert clip_words == words.replace("image", "clip")


def test_without_views_or_preprocessor_the_model_is_itself():
    inner = _inner()
    assert with_preprocessor(inner, None, INFO) is inner


def test_the_wrapper_reloads_from_a_keras_file_in_safe_mode(tmp_path):
    import keras

    wrapped = with_preprocessor(_inner(), None, INFO, TestTimeViews(flip="horizontal", shift=1))
    wrapped.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")  # safe_mode stays on.
    np.testing.assert_allclose(
        again.predict(IMAGES, verbose=0), wrapped.predict(IMAGES, verbose=0), rtol=1e-6
    )
    assert builder_model(again).name == "mlp"


def _colour_folders(root, n=24):
    """Red and blue images with noise, whose class a mirror image keeps."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    for split, count in (("train", n), ("test", n // 2)):
        for cls, channel in (("blue", 2), ("red", 0)):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(count):
                image = rng.integers(0, 120, (12, 12, 3)).astype(np.uint8)
                image[..., channel] = rng.integers(150, 256, (12, 12))
                (folder / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())


def _run_and_load(recipe_file, tmp_path):
    """Train the recipe; every export verified; its result and the served `.keras` model."""
    import keras

    result = train_recipe(load_recipe(recipe_file), output_dir=tmp_path / "run", verbose=0)
    assert all(check["ok"] for check in result.metrics["export"].values())
    return result, keras.saving.load_model(result.run_dir / "model.keras")


@pytest.mark.slow  # One small run: train, evaluate, export and verify.
def test_a_run_evaluates_and_exports_the_averaged_model(tmp_path):
    import tensorflow as tf

    _colour_folders(tmp_path / "images")
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(
        "model: {name: cnn, params: {filters: [4], dense_units: 8}}\n"
        "data:\n"
        "  source: directory\n"
        "  kind: image\n"
        f"  path: {tmp_path / 'images'}\n"
        "  splits: {train: train, test: test}\n"
        "  image_size: [12, 12]\n"
        "  validation_fraction: 0.25\n"
        "  image: {rescale: 0.00392156862745098, augment: {flip: horizontal},"
        " test_time: {flip: horizontal}}\n"
        "training: {batch_size: 8, epochs: 4, optimizer: {name: adam, learning_rate: 0.01}}\n"
        "export: {saved_model: true, keras: true}\n"
    )
    result, served = _run_and_load(recipe_file, tmp_path)
    assert result.metrics["test"]["accuracy"] >= 0.9  # Chance is 0.5.
    card = (result.run_dir / "model_card.md").read_text()
    assert "averages its probabilities over 2 views: the image and 1 mirror image" in card
    assert [layer.name for layer in served.layers if layer.name.startswith("test_time")] == [
        "test_time_horizontal",
        "test_time_mean",
    ]
    # The reported scores are the averaged model's: recompute them from the bare model.
    images = np.stack(
        [
            tf.io.decode_png(tf.io.read_file(str(p))).numpy()
            for cls in ("blue", "red")
            for p in sorted((tmp_path / "images" / "test" / cls).glob("*.png"))
        ]
    ).astype("float32")
    labels = np.repeat([0, 1], len(images) // 2)
    inner = builder_model(served)
    scaled = images / 255.0
    by_hand = (inner.predict(scaled, verbose=0) + inner.predict(scaled[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(served.predict(images, verbose=0), by_hand, rtol=1e-5, atol=1e-6)
    assert result.metrics["test"]["accuracy"] == pytest.approx(
        float((by_hand.argmax(-1) == labels).mean())
    )


@pytest.mark.slow  # One small clip run: train, evaluate, export and verify.
def test_a_clip_run_evaluates_and_exports_the_averaged_model(tmp_path):

    rng = np.random.default_rng(3)
    labels = np.arange(96) % 2
    # Bright or dark clips with noise: a mirrored or shifted clip keeps its class.
    clips = (rng.integers(0, 60, (96, 4, 10, 10)) + 160 * labels[:, None, None, None]).astype(
        np.uint8
    )
    np.savez(
        tmp_path / "clips.npz",
        train_images=clips[:64],
        train_labels=labels[:64],
        test_images=clips[64:],
        test_labels=labels[64:],
    )
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(
        "model: {name: video_cnn, params: {filters: [4], dropout: 0.0}}\n"
        f"data: {{source: npz, path: {tmp_path / 'clips.npz'},"
        " splits: {train: train, test: test},"
        " video: {augment: {flip: true, crop: 1}, test_time: {flip: horizontal, shift: 1}}}\n"
        "training: {batch_size: 16, epochs: 8, optimizer: {name: adam, learning_rate: 0.01}}\n"
        "export: {saved_model: true, keras: true}\n"
    )
    result, served = _run_and_load(recipe_file, tmp_path)
    assert result.metrics["test"]["accuracy"] >= 0.85  # Chance is 0.5.
    card = (result.run_dir / "model_card.md").read_text()
    assert "over 6 views: the clip and 1 mirror clip (horizontal flip), each also shifted" in card
    inner = builder_model(served)
    pre = next(layer for layer in served.layers if type(layer).__name__ == "VideoPreprocess")
    test = np.asarray(pre(clips[64:]))
    by_hand = np.mean([inner.predict(v, verbose=0) for v in _clip_views(test, 1)], axis=0)
    np.testing.assert_allclose(served.predict(clips[64:], verbose=0), by_hand, rtol=1e-5, atol=1e-6)
    assert result.metrics["test"]["accuracy"] == pytest.approx(
        float((by_hand.argmax(-1) == labels[64:]).mean())
    )
