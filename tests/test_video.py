"""Video: frame sampling and augmentation, the moving_shapes dataset (a 3D convnet learns
it, a frame-averaging model cannot), exported models on raw uint8 clips, and the UCF101
recipe's pipeline on TFDS mock data."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.config.schema import VideoAugment

CLIPS = np.random.default_rng(0).integers(0, 256, (6, 5, 4, 7, 1), dtype=np.uint8)


def test_frame_sampling_is_centred_strided_and_repeats_the_last_frame():
    from zoo.data.preprocessing.video import sample_indices

    assert sample_indices(10, 4, 2).numpy().tolist() == [1, 3, 5, 7]  # span 7, centred
    assert sample_indices(10, None, 3).numpy().tolist() == [0, 3, 6, 9]
    assert sample_indices(3, 5, 1).numpy().tolist() == [0, 1, 2, 2, 2]  # too short


def test_preprocess_layer_adds_a_channel_axis_and_survives_serialisation():
    import keras

    from zoo.data.preprocessing.video import VideoPreprocess

    layer = VideoPreprocess(frames=2, stride=2, resize=(2, 3), add_channel_axis=True)
    out = layer(CLIPS[..., 0])
    assert out.shape == (6, 2, 2, 3, 1) and out.dtype == tf.float32
    assert layer.compute_output_shape((None, 5, 4, 7)) == (None, 2, 2, 3, 1)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    np.testing.assert_array_equal(again(CLIPS[..., 0]), out)


def _augment(**options):
    from zoo.data.preprocessing.video import augmenter

    x, _ = augmenter(VideoAugment(**options), seed=3)(tf.constant(CLIPS), tf.zeros(6))
    assert x.shape == CLIPS.shape and x.dtype == tf.uint8
    return x.numpy()


def test_flip_mirrors_whole_clips_left_right():
    out = _augment(flip=True)
    mirrored = [np.array_equal(o, c[:, :, ::-1]) for o, c in zip(out, CLIPS, strict=True)]
    kept = [np.array_equal(o, c) for o, c in zip(out, CLIPS, strict=True)]
    assert all(m or k for m, k in zip(mirrored, kept, strict=True))
    assert any(mirrored) and any(kept)


def test_crop_shifts_every_frame_of_a_clip_alike():
    out = _augment(crop=1)
    padded = np.pad(CLIPS, [(0, 0), (0, 0), (1, 1), (1, 1), (0, 0)])
    shifts = []
    for o, p in zip(out, padded, strict=True):
        found = [
            (dy, dx)
            for dy in range(3)
            for dx in range(3)
            if np.array_equal(o, p[:, dy : dy + 4, dx : dx + 7])
        ]
        assert found, "an augmented clip is not a shifted copy of its original"
        shifts.append(found[0])
    assert len(set(shifts)) > 1


def test_time_jitter_shifts_clips_in_time_repeating_end_frames():
    out = _augment(time_jitter=2)
    shifts = []
    for o, c in zip(out, CLIPS, strict=True):
        found = [s for s in range(-2, 3) if np.array_equal(o, c[np.clip(np.arange(5) + s, 0, 4)])]
        assert found
        shifts.append(found[0])
    assert len(set(shifts)) > 1


def test_augmentation_touches_the_training_split_only(tmp_path):
    from zoo.config.schema import NpzData
    from zoo.data import load

    labels = np.arange(6) % 2
    np.savez(tmp_path / "c.npz", train_x=CLIPS, train_y=labels, test_x=CLIPS, test_y=labels)
    config = NpzData(
        source="npz",
        path=str(tmp_path / "c.npz"),
        images_key="{split}_x",
        labels_key="{split}_y",
        shuffle_buffer=0,
        video={"augment": {"flip": True, "crop": 2, "time_jitter": 1}},
    )
    bundle = load(config, batch_size=6, seed=0)
    (test_x, _), *_ = list(bundle.test)
    (train_x, _), *_ = list(bundle.train)
    np.testing.assert_array_equal(test_x.numpy(), CLIPS)
    assert not np.array_equal(train_x.numpy(), CLIPS)
    assert bundle.info.input_name == "x"


def test_moving_shapes_is_deterministic_and_balanced():
    from zoo.data.datasets.moving_shapes import DIRECTIONS, generate

    clips, labels = generate(200, seed=5)
    again, same = generate(200, seed=5)
    np.testing.assert_array_equal(clips, again)
    np.testing.assert_array_equal(labels, same)
    assert clips.shape == (200, 12, 32, 32, 1) and clips.dtype == np.uint8
    assert np.bincount(labels, minlength=4).min() > 30 and len(DIRECTIONS) == 4
    assert not np.array_equal(generate(5, seed=6)[0], clips[:5])


# Small, fast settings: 1,600 training clips, 2 epochs. The served clip is the raw
# (12, 32, 32, 1) uint8; the model sees 10 frames at 24×24 (sampled and resized inside).
SMALL_MOVING_SHAPES = (
    "data.splits.train=train[:1600]",
    "data.splits.validation=validation[:200]",
    "data.splits.test=test[:400]",
    "training.epochs=2",
    "data.video.frames=10",
    "data.video.resize=[24, 24]",
)


@pytest.fixture(scope="session")
def moving_shapes_run(tmp_path_factory):
    from zoo import load_recipe, train_recipe

    recipe = load_recipe("recipes/moving_shapes_video_cnn.yaml", list(SMALL_MOVING_SHAPES))
    return train_recipe(recipe, output_dir=tmp_path_factory.mktemp("moving"), verbose=0)


@pytest.mark.slow
def test_3d_cnn_learns_motion_a_frame_averaging_model_cannot(moving_shapes_run):
    """Same data, same steps: the 3D convnet sees motion; averaging per-frame features over
    time ignores frame order (a clip and its reverse look alike), so it stays near 25%."""
    import keras

    from zoo import build_model, load_recipe
    from zoo.data import load

    assert moving_shapes_run.metrics["test"]["accuracy"] >= 0.85

    recipe = load_recipe("recipes/moving_shapes_video_cnn.yaml", list(SMALL_MOVING_SHAPES))
    keras.utils.set_random_seed(recipe.seed)
    bundle = load(recipe.data, batch_size=32, seed=recipe.seed)
    baseline = build_model("frame_average_cnn", **bundle.info.model_params())
    baseline.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    history = baseline.fit(bundle.model_ready("train"), epochs=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    labels = np.concatenate([y.numpy() for _, y in bundle.test])
    probs = baseline.predict(bundle.model_ready("test"), verbose=0)
    accuracy = float(np.mean(probs.argmax(axis=1) == labels))
    assert accuracy < 0.45, accuracy


@pytest.mark.slow
def test_exported_video_model_takes_raw_uint8_clips(moving_shapes_run):
    from zoo.data.datasets.moving_shapes import generate
    from zoo.exporting.artifacts import load

    run = moving_shapes_run.run_dir
    for kind in ("keras", "saved_model"):
        check = moving_shapes_run.metrics["export"][kind]
        assert check["ok"] and check["fresh_process"], check  # vs the in-memory model
    saved = tf.saved_model.load(str(run / "saved_model")).signatures["serving_default"]
    (name, spec), *_ = saved.structured_input_signature[1].items()
    assert (name, spec.dtype, tuple(spec.shape)) == ("video", tf.uint8, (None, 12, 32, 32, 1))

    clips, labels = generate(64, seed=99)  # Fresh clips, raw uint8, never seen in training.
    served = saved(video=tf.constant(clips))["probabilities"].numpy()
    reloaded = load(run / "model.keras").predict(clips)
    assert reloaded.shape == (64, 4)
    np.testing.assert_allclose(served, reloaded, atol=1e-5)
    assert np.mean(served.argmax(axis=1) == labels) >= 0.8


@pytest.mark.slow
def test_ucf101_recipe_pipeline_on_mock_data(tmp_path, monkeypatch):
    """TFDS mock clips of varying length at 256×256: sampled per clip to a fixed count,
    resized in the model, trained a couple of steps, exported taking raw uint8 clips."""
    import tensorflow_datasets as tfds

    from zoo import load_recipe, train_recipe

    overrides = [
        "data.video.frames=4",
        "data.video.resize=[16, 16]",
        "model.params.filters=[4, 8]",
        "training.batch_size=2",
        "training.epochs=1",
        "training.steps_per_epoch=2",
        "training.callbacks.early_stopping=null",
        "data.splits.validation=null",
        "export.keras=false",
    ]
    recipe = load_recipe("recipes/ucf101_video_cnn.yaml", overrides)
    monkeypatch.delenv("ZOO_TFDS_MANUAL_DIR")  # Mock data needs no raw files.
    with tfds.testing.mock_data(num_examples=4):
        result = train_recipe(recipe, output_dir=tmp_path / "run", verbose=0)
    assert result.metrics["training"]["epochs"] == 1
    assert all(check["ok"] for check in result.metrics["export"].values())
    saved = tf.saved_model.load(str(tmp_path / "run" / "saved_model"))
    signature = saved.signatures["serving_default"]
    (name, spec), *_ = signature.structured_input_signature[1].items()
    assert (name, spec.dtype, tuple(spec.shape)) == ("video", tf.uint8, (None, 4, 256, 256, 3))
    clip = np.random.default_rng(0).integers(0, 256, (1, 4, 256, 256, 3), dtype=np.uint8)
    probs = signature(video=tf.constant(clip))["probabilities"].numpy()
    assert probs.shape == (1, 101)
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-5)
