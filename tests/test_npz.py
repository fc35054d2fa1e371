"""The `npz` source: MedMNIST-style archives, its errors, and the real AdrenalMNIST3D file."""

import numpy as np
import pytest

from tests.conftest import SHARED_DATA
from zoo.config.schema import NpzData
from zoo.data import load
from zoo.errors import DataError

ADRENAL = SHARED_DATA / "medmnist" / "adrenalmnist3d.npz"


def _archive(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.fixture
def volumes(tmp_path):
    """A MedMNIST-like archive: (N, 6, 8, 8) uint8 volumes, (N, 1) labels, `val` split."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 20), ("val", 6), ("test", 10)):
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 6, 8, 8), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 3).reshape(n, 1).astype(np.uint8)
    return _archive(tmp_path / "vol.npz", **arrays), arrays


def _config(path, **fields):
    splits = fields.pop("splits", {"train": "train", "validation": "val", "test": "test"})
    return NpzData(source="npz", path=path, splits=splits, **fields)


def test_npz_bundle_flattens_labels_and_keeps_raw_input(volumes):
    path, arrays = volumes
    bundle = load(
        _config(path, class_names=("a", "b", "c"), shuffle_buffer=0), batch_size=8, seed=0
    )
    info = bundle.info
    assert (info.input_name, info.input_shape, info.input_dtype) == ("images", (6, 8, 8), "uint8")
    assert info.num_classes == 3 and info.class_names == ("a", "b", "c")
    assert info.num_examples == {"train": 20, "validation": 6, "test": 10}
    assert bundle.preprocessor is None and info.model_params()["input_shape"] == (6, 8, 8)
    x, y = next(iter(bundle.validation))
    assert x.dtype.name == "uint8" and y.shape == (6,)
    np.testing.assert_array_equal(x.numpy(), arrays["val_images"])
    np.testing.assert_array_equal(y.numpy(), arrays["val_labels"][:, 0])


def test_npz_video_options_give_the_model_shape_and_a_raw_input_preprocessor(volumes):
    path, arrays = volumes
    video = {"frames": 3, "stride": 2, "resize": (4, 4), "rescale": 0.5}
    bundle = load(_config(path, video=video), batch_size=8, seed=0)
    assert bundle.info.input_shape == (6, 8, 8)  # What exported models take.
    assert bundle.info.model_params()["input_shape"] == (3, 4, 4, 1)  # What the model eats.
    x, _ = next(iter(bundle.model_ready("test")))
    assert x.shape == (8, 3, 4, 4, 1) and x.dtype.name == "float32"
    # Frames 0, 2, 4 (centred: (6 - 5) // 2 = 0), each resized on its own, halved.
    import tensorflow as tf

    raw = arrays["test_images"][:8, 0:5:2, :, :, None].astype(np.float32)
    want = [[tf.image.resize(f, (4, 4), antialias=True) for f in clip] for clip in raw]
    np.testing.assert_allclose(x.numpy(), np.array(want) * 0.5, rtol=1e-5, atol=1e-3)


def _error(config) -> str:
    with pytest.raises(DataError) as err:
        load(config, batch_size=4, seed=0)
    return str(err.value)


def test_npz_errors_name_the_field_and_the_fix(tmp_path, volumes):
    path, arrays = volumes
    text = _error(_config(str(tmp_path / "nope.npz")))
    assert "data.path" in text and "nope.npz" in text

    text = _error(_config(path, splits={"train": "train", "validation": "valid"}))
    assert "data.splits.validation 'valid'" in text and "'valid_images'" in text
    assert "val_images, val_labels" in text  # The keys that exist are listed.

    empty = dict(arrays, test_images=arrays["test_images"][:0], test_labels=np.zeros((0, 1)))
    text = _error(_config(_archive(tmp_path / "empty.npz", **empty)))
    assert "data.splits.test 'test'" in text and "empty" in text

    short = dict(arrays, train_labels=arrays["train_labels"][:-1])
    text = _error(_config(_archive(tmp_path / "short.npz", **short)))
    assert "20 inputs" in text and "19 labels" in text

    other = dict(arrays, val_images=arrays["val_images"][:, :, :4])
    text = _error(_config(_archive(tmp_path / "other.npz", **other)))
    assert "different shapes" in text and "validation uint8 (6, 4, 8)" in text

    floats = dict(arrays, train_labels=arrays["train_labels"] + 0.5)
    assert "integer class indices" in _error(_config(_archive(tmp_path / "f.npz", **floats)))

    pickled = dict(arrays, train_labels=np.array([{"a": 1}] * 20, dtype=object))
    text = _error(_config(_archive(tmp_path / "p.npz", **pickled)))
    assert "'train_labels'" in text and "cannot be read" in text  # Pickle stays off.

    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert "is not an .npz archive" in _error(_config(str(tmp_path / "junk.npz")))

    flat = {k: v.reshape(len(v), -1) if "images" in k else v for k, v in arrays.items()}
    text = _error(_config(_archive(tmp_path / "flat.npz", **flat), video={}))
    assert "data.video" in text and "(384,)" in text


def test_npz_path_is_taken_from_the_recipe_folder(tmp_path, volumes):
    from zoo import load_recipe

    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "r.yaml").write_text(
        "model: {name: video_cnn}\n"
        "data: {source: npz, path: ../vol.npz, splits: {validation: val}}\n"
    )
    recipe = load_recipe(folder / "r.yaml")
    assert recipe.data.path == volumes[0]


@pytest.mark.shared_data
def test_adrenal_recipe_reads_the_archive_under_the_data_root():
    from zoo import load_recipe
    from zoo.config.paths import resolve

    recipe = load_recipe("adrenalmnist3d_video_cnn")  # The built-in recipe, by name.
    assert recipe.data.path == "zoo-data://medmnist/adrenalmnist3d.npz"  # Stays symbolic.
    # conftest points ZOO_DATA_DIR at ../shared/data.
    assert resolve(recipe.data.path) == SHARED_DATA / "medmnist" / "adrenalmnist3d.npz"
    assert [m.name for m in recipe.evaluation.metrics] == ["accuracy", "auc", "f1"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_adrenalmnist3d_learns_above_chance():
    """A few dozen steps of the recipe's model on the real archive: loss falls and the
    test AUC clears 0.5 by a margin (accuracy alone would be fooled by the 77% majority)."""
    import keras

    from zoo import build_model, load_recipe
    from zoo.evaluation.classification import binary_auc

    assert ADRENAL.is_file(), f"{ADRENAL} missing: put ../shared beside the checkout."
    recipe = load_recipe("recipes/adrenalmnist3d_video_cnn.yaml", [f"data.path={ADRENAL}"])
    keras.utils.set_random_seed(0)
    bundle = load(recipe.data, batch_size=32, seed=0)
    assert bundle.info.num_examples == {"train": 1188, "validation": 98, "test": 298}
    assert bundle.info.input_shape == (28, 28, 28) and bundle.info.class_names[1] == "hyperplasia"
    model = build_model("video_cnn", filters=(8, 16, 32), **bundle.info.model_params())
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    history = model.fit(
        bundle.model_ready("train").repeat(), steps_per_epoch=12, epochs=3, shuffle=False, verbose=0
    )
    assert history.history["loss"][-1] < history.history["loss"][0]
    labels = np.concatenate([y.numpy() for _, y in bundle.test])
    probs = model.predict(bundle.model_ready("test"), verbose=0)
    auc = binary_auc(labels == 1, probs[:, 1])
    print(f"AdrenalMNIST3D test AUC after 36 steps: {auc:.3f}")
    assert auc > 0.65, auc


def test_key_patterns_are_checked_before_loading():
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="only the placeholder"):
        NpzData(source="npz", path="x.npz", images_key="{splt}_images")


# ------------------------------------------------------------------ larger than memory
def test_uncompressed_members_are_memory_mapped_and_stream_in_chunks(tmp_path, monkeypatch):
    from zoo.data.sources import npz as npz_source

    monkeypatch.setattr(npz_source, "INLINE_BYTES", 0)  # Stream even this small archive.
    monkeypatch.setattr(npz_source, "CHUNK_BYTES", 7 * 64)  # 7 examples a chunk.
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (30, 8, 8), dtype=np.uint8)
    labels = np.arange(30) % 3
    path = _archive(tmp_path / "m.npz", train_images=images, train_labels=labels)
    with np.load(path) as archive:
        mapped = npz_source._mapped(archive, "train_images")
    assert isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(mapped, images)
    np.savez(path, train_images=images, train_labels=labels, test_images=images, test_labels=labels)
    config = _config(
        path, splits={"train": "train", "test": "test"}, shuffle_buffer=0, cache="none"
    )
    bundle = load(config, batch_size=4, seed=0)
    xs = np.concatenate([x.numpy() for x, _ in bundle.test])  # Evaluation: file order.
    ys = np.concatenate([y.numpy() for _, y in bundle.test])
    np.testing.assert_array_equal(xs, images)
    np.testing.assert_array_equal(ys, labels)

    def train_order(bundle):  # Which row each training example is (rows are distinct).
        xs = np.concatenate([x.numpy() for x, _ in bundle.train])
        return [int(np.flatnonzero((images == x).all(axis=(1, 2)))[0]) for x in xs]

    epoch1, epoch2 = train_order(bundle), train_order(bundle)
    chunks = [tuple(range(s, min(30, s + 7))) for s in range(0, 30, 7)]
    for order in (epoch1, epoch2):  # Whole chunks, in a shuffled order:
        assert sorted(order) == list(range(30)) and order != list(range(30))
        starts = [i for i in order if i % 7 == 0]
        assert [i for s in starts for i in chunks[s // 7]] == order
    assert epoch1 != epoch2  # reshuffled each epoch,
    assert train_order(load(config, batch_size=4, seed=0)) == epoch1  # reproducibly.


def test_compressed_members_are_read_whole(tmp_path):
    from zoo.data.sources import npz as npz_source

    path = tmp_path / "c.npz"
    np.savez_compressed(path, train_images=np.zeros((4, 2), np.uint8), train_labels=np.arange(4))
    with np.load(path) as archive:
        assert npz_source._mapped(archive, "train_images") is None


def test_a_folder_of_npy_files_reads_like_an_archive(tmp_path):
    images = np.arange(60, dtype=np.float32).reshape(20, 3)
    np.save(tmp_path / "train_images.npy", images)
    np.save(tmp_path / "train_labels.npy", np.arange(20) % 2)
    config = _config(str(tmp_path), splits={"train": "train", "test": None}, shuffle_buffer=0)
    bundle = load(config, batch_size=5, seed=0)
    assert bundle.info.num_examples == {"train": 20} and bundle.info.num_classes == 2
    np.testing.assert_array_equal(np.concatenate([x for x, _ in bundle.train]), images)


@pytest.mark.parametrize("compression", ["stored", "deflated"])
def test_truncated_member_is_named(tmp_path, compression):
    """A member whose bytes end before its .npy header's shape says (a cut-short write)."""
    import io
    import zipfile

    def npy(array, cut=0):
        buffer = io.BytesIO()
        np.save(buffer, array)
        data = buffer.getvalue()
        return data[: len(data) - cut]

    method = zipfile.ZIP_STORED if compression == "stored" else zipfile.ZIP_DEFLATED
    path = tmp_path / "t.npz"
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        zf.writestr("train_labels.npy", npy(np.arange(50) % 2))
        zf.writestr("train_images.npy", npy(np.ones((50, 16, 16), np.uint8), cut=3000))
    with pytest.raises(DataError, match=r"member 'train_images' of .*t\.npz cannot be read"):
        load(_config(str(path), splits={"train": "train", "test": None}), batch_size=4, seed=0)
