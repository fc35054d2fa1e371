"""Text data end to end: the `directory` source (archives included), text vectorisation
adapted on training data only, a text run on real IMDB reviews, and exported models that
take raw strings."""

import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED_DATA
from zoo.config.schema import DirectoryData
from zoo.data import load
from zoo.data.archive import extract
from zoo.data.preprocessing import text as text_prep
from zoo.errors import DataError

IMDB = SHARED_DATA / "imdb" / "aclImdb.tar.gz"
POSITIVE = "A wonderful, moving film.<br /><br />The acting is brilliant and I loved every minute."
NEGATIVE = "Awful and boring. The worst movie I have ever seen, a complete waste of time."


def _tree(root: Path, texts: dict[str, dict[str, list[str]]]) -> Path:
    """Write {split: {class: [texts]}} as root/split/class/i.txt."""
    for split, classes in texts.items():
        for name, docs in classes.items():
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i, doc in enumerate(docs):
                (folder / f"{i}.txt").write_text(doc)
    return root


@pytest.fixture
def toy_tree(tmp_path):
    words = {"neg": "bad poor dull", "pos": "good fine great"}
    texts = {
        split: {c: [f"{w}<br />alpha {i}" for i in range(n)] for c, w in words.items()}
        for split, n in (("train", 20), ("test", 5))
    }
    texts["test"]["pos"].append("omega only in the test split")
    texts["train"]["unsup"] = ["no label here"]  # An extra folder, as IMDB's unsup/.
    return _tree(tmp_path / "reviews", texts)


def _config(path, **kw) -> DirectoryData:
    base = {
        "source": "directory",
        "path": str(path),
        "splits": {"train": "train", "test": "test"},
        "class_names": ["neg", "pos"],
    }
    return DirectoryData(**{**base, **kw})


def test_directory_text_bundle_vectorises_with_training_vocabulary(toy_tree):
    config = _config(toy_tree, validation_fraction=0.25, text={"sequence_length": 8})
    bundle = load(config, batch_size=8, seed=0)
    info = bundle.info
    assert (info.input_name, info.input_shape, info.input_dtype) == ("text", (), "string")
    assert info.class_names == ("neg", "pos") and info.num_classes == 2  # unsup/ left out
    assert info.num_examples == {"train": 30, "validation": 10, "test": 11}
    vocabulary = bundle.preprocessor.get_layer("vectorize").get_vocabulary()
    assert {"good", "bad", "alpha"} <= set(vocabulary)
    assert "omega" not in vocabulary  # Adapted on the training split only.
    assert "br" not in vocabulary  # Markup stripped before vectorising.
    assert info.model_inputs == {"vocabulary_size": len(vocabulary), "sequence_length": 8}
    tokens, _ = next(iter(bundle.model_ready("train")))
    assert tokens.dtype.name == "int64" and tokens.shape == (8, 8)
    raw, _ = next(iter(bundle.test))
    assert raw.dtype.name == "string"
    # The validation part is held out of train, reproducibly with the seed.
    val = sorted(x for b, _ in bundle.validation for x in b.numpy().tolist())
    adapted = text_prep.adapt_calls
    again = load(config, batch_size=8, seed=0)
    # Same files and options: the cached vocabulary, not a second adapt.
    assert text_prep.adapt_calls == adapted
    assert again.preprocessor.get_layer("vectorize").get_vocabulary() == vocabulary
    assert val == sorted(x for b, _ in again.validation for x in b.numpy().tolist())
    train = {x for b, _ in bundle.train for x in b.numpy().tolist()}
    assert not train & set(val)


def test_text_options_default_for_string_inputs_and_markup_kept_on_request(toy_tree):
    bundle = load(_config(toy_tree, text={"strip_markup": False}), batch_size=4, seed=0)
    assert "greatbr" in bundle.preprocessor.get_layer("vectorize").get_vocabulary()  # great<br />
    plain = load(_config(toy_tree), batch_size=4, seed=0)  # No `text:`: defaults apply.
    assert plain.info.model_inputs["sequence_length"] == 200


def test_archives_are_extracted_once_and_atomically(toy_tree, tmp_path):
    tgz, zpath = tmp_path / "reviews.tar.gz", tmp_path / "reviews.zip"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(toy_tree, arcname="reviews")
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in toy_tree.rglob("*.txt"):
            zf.write(p, f"reviews/{p.relative_to(toy_tree)}")
    cache = tmp_path / "cache"
    for archive in (tgz, zpath):
        first = extract(archive, cache)
        assert (first / "reviews" / "train" / "pos" / "0.txt").read_text().startswith("good")
        stamp = first.stat().st_mtime_ns
        assert extract(archive, cache) == first and first.stat().st_mtime_ns == stamp
    assert not [p for p in cache.iterdir() if ".tmp-" in p.name]  # No leftovers.
    config = _config(
        zpath, extract_dir=str(cache), splits={"train": "reviews/train", "test": "reviews/test"}
    )
    assert load(config, batch_size=4, seed=0).info.num_examples["test"] == 11


@pytest.mark.parametrize("member", ["../escape.txt", "/abs/escape.txt", "link"])
def test_unsafe_archive_members_are_refused(tmp_path, member):
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        ok = tarfile.TarInfo("data/train/pos/0.txt")
        ok.size = 4
        tar.addfile(ok, io.BytesIO(b"good"))
        bad = tarfile.TarInfo(member)
        if member == "link":
            bad.type, bad.linkname = tarfile.SYMTYPE, "/etc/passwd"
        else:
            bad.size = 4
        tar.addfile(bad, io.BytesIO(b"evil"))
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"refus|only plain files") as err:
        extract(archive, cache)
    assert str(archive) in str(err.value)
    assert not (tmp_path / "escape.txt").exists()
    assert not cache.exists() or not any(cache.iterdir())  # Nothing half-extracted.


def test_directory_errors_name_the_field_and_fix(toy_tree, tmp_path):
    with pytest.raises(DataError, match=r"data\.path .* does not exist"):
        load(_config(tmp_path / "nowhere"), batch_size=4, seed=0)
    with pytest.raises(DataError, match=r"data\.splits\.test .*'tset'.*Did you mean 'test'"):
        load(_config(toy_tree, splits={"train": "train", "test": "tset"}), batch_size=4, seed=0)
    with pytest.raises(DataError, match=r"data\.class_names .*'po'.*Did you mean 'pos'"):
        load(_config(toy_tree, class_names=["neg", "po"]), batch_size=4, seed=0)
    flat = tmp_path / "flat" / "train"
    flat.mkdir(parents=True)
    (flat / "a.txt").write_text("no class folders")
    with pytest.raises(DataError, match="no class folders"):
        load(_config(flat.parent, class_names=None, splits={"test": None}), batch_size=4, seed=0)
    empty = _tree(tmp_path / "empty", {"train": {"neg": ["bad"], "pos": ["good"]}})
    for c in ("neg", "pos"):
        (empty / "test" / c).mkdir(parents=True)
    with pytest.raises(DataError, match=r"data\.splits\.test: no text files"):
        load(_config(empty), batch_size=4, seed=0)
    with pytest.raises(DataError, match=r"data\.video is set, but the 'directory' source"):
        load(_config(toy_tree, video={"frames": 4}), batch_size=4, seed=0)


@pytest.mark.shared_data
def test_imdb_recipe_names_its_archive_under_the_data_root():
    from tests.conftest import SHARED_DATA
    from zoo import load_recipe
    from zoo.config.paths import resolve

    recipe = load_recipe("recipes/imdb_lstm.yaml")
    assert recipe.data.path == "zoo-data://imdb/aclImdb.tar.gz"  # Symbolic in the recipe,
    assert resolve(recipe.data.path) == SHARED_DATA / "imdb/aclImdb.tar.gz"  # real when read.
    assert recipe.model.name == "text_rnn" and recipe.model.params["cell"] == "lstm"


# ---------------------------------------------------------------- real IMDB reviews
@pytest.fixture(scope="module")
def imdb_slice(tmp_path_factory) -> Path:
    """A small aclImdb-shaped archive cut from the real one: 450 + 450 training and
    250 + 250 test reviews (the first in archive order of each class folder)."""
    assert IMDB.is_file(), f"{IMDB} not found; point ZOO_SHARED_DATA at the shared data."
    wanted = {"train": 450, "test": 250}
    out = tmp_path_factory.mktemp("imdb") / "aclImdb_slice.tar.gz"
    counts: dict[tuple[str, str], int] = {}
    with tarfile.open(IMDB, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for member in src:
            parts = member.name.split("/")
            if len(parts) != 4 or not member.isfile() or parts[2] not in ("neg", "pos"):
                continue
            key = (parts[1], parts[2])
            if counts.get(key, 0) < wanted.get(parts[1], 0):
                counts[key] = counts.get(key, 0) + 1
                dst.addfile(member, src.extractfile(member))
    assert counts == {(s, c): n for s, n in wanted.items() for c in ("neg", "pos")}
    return out


@pytest.fixture(scope="module")
def imdb_run(imdb_slice, tmp_path_factory):
    """recipes/imdb_lstm.yaml on the slice, shrunk to train in seconds."""
    from zoo import load_recipe, train_recipe

    overrides = [
        f"data.path={imdb_slice}",
        f"data.extract_dir={tmp_path_factory.mktemp('extracted')}",
        "data.text.max_tokens=5000",
        "data.text.sequence_length=120",
        "model.params.embedding_dim=32",
        "model.params.units=[16]",
        "model.params.pooling=mean",
        "training.epochs=3",
        "training.optimizer.learning_rate=0.005",
        "training.callbacks.early_stopping=null",
    ]
    recipe = load_recipe("recipes/imdb_lstm.yaml", overrides)
    return train_recipe(recipe, output_dir=tmp_path_factory.mktemp("imdb_run"), verbose=0)


def test_imdb_slice_learns(imdb_run):
    test = imdb_run.metrics["test"]
    assert test["accuracy"] >= 0.6 and test["auc"] >= 0.7, test  # chance: 0.5 and 0.5
    losses = imdb_run.history["loss"]
    assert losses[-1] < losses[0] - 0.15
    assert all(v["ok"] for v in imdb_run.metrics["export"].values())
    classes = json.loads((imdb_run.run_dir / "classes.json").read_text())
    assert classes == {"class_names": ["neg", "pos"], "label_mapping": {"neg": 0, "pos": 1}}


def test_exported_text_models_take_raw_strings(imdb_run):
    import tensorflow as tf

    from zoo.exporting.artifacts import load_keras_model

    sentences = tf.constant([POSITIVE, NEGATIVE])
    serve = tf.saved_model.load(str(imdb_run.run_dir / "saved_model")).signatures["serving_default"]
    assert serve.structured_input_signature[1]["text"].dtype == tf.string
    probs = serve(text=sentences)["probabilities"].numpy()
    assert probs.shape == (2, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert probs[0, 1] > probs[1, 1]  # The glowing review is the more positive one.
    model = load_keras_model(imdb_run.run_dir / "model.keras")
    np.testing.assert_allclose(model(sentences).numpy(), probs, atol=1e-5)


def test_predict_cli_reads_text_files(imdb_run, tmp_path):
    from tests.conftest import run_cli

    (tmp_path / "good.txt").write_text(POSITIVE)
    (tmp_path / "bad.txt").write_text(NEGATIVE)
    out = run_cli(
        str(imdb_run.run_dir / "saved_model"),
        str(tmp_path / "good.txt"),
        str(tmp_path / "bad.txt"),
        module="zoo.cli.predict",
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith(f"{tmp_path / 'good.txt'}: ") and "pos" in lines[0]
    assert lines[1].startswith(f"{tmp_path / 'bad.txt'}: ")


def test_recipe_errors_for_sources_and_text_options(tmp_path):
    from tests.conftest import run_cli

    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {name: text_rnn}\ndata:\n  source: dirctory\n  path: reviews\n")
    out = run_cli(str(bad), "--dry-run")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "data.source: unknown source 'dirctory'. Did you mean 'directory'?" in out.stderr
    bad.write_text(
        "model: {name: text_rnn}\n"
        "data:\n"
        "  source: directory\n"
        "  path: reviews\n"
        "  text: {max_tokenz: 10, sequence_length: 0}\n"
    )
    out = run_cli(str(bad), "--dry-run")
    assert out.returncode == 2
    assert (
        "data.text.max_tokenz: unknown key 'max_tokenz'. Did you mean 'max_tokens'?" in out.stderr
    )
    assert "data.text.sequence_length: Input should be greater than 0" in out.stderr


# ------------------------------------------------------------------ adapt sample, saved vocabulary
def _unique_words_tree(root: Path, n: int = 40) -> Path:
    """Each training document holds its own word w<i>, so the vocabulary shows the sample."""
    texts = {
        "train": {"neg": [f"bad w{i}" for i in range(n)], "pos": [f"good v{i}" for i in range(n)]},
        "test": {"neg": ["bad"], "pos": ["good"]},
    }
    return _tree(root, texts)


def test_adapt_sample_bounds_and_seeds_the_documents_adapted_on(tmp_path):
    from zoo.data.preprocessing import text as text_pre

    root = _unique_words_tree(tmp_path)
    config = _config(root, text={"adapt_sample": 10, "max_tokens": 1000})
    before = text_pre.adapt_calls
    vocab = load(config, batch_size=8, seed=0).preprocessor.get_layer("vectorize")
    words = [w for w in vocab.get_vocabulary() if w[:1] in "wv" and w[1:].isdigit()]
    assert 1 <= len(words) <= 10  # One unique word per sampled document, at most 10.
    assert text_pre.adapt_calls == before + 1
    again = load(config, batch_size=8, seed=0).preprocessor.get_layer("vectorize")
    assert again.get_vocabulary() == vocab.get_vocabulary()  # Seeded: the same sample.
    full = load(
        _config(root, text={"adapt_sample": None, "max_tokens": 1000}), batch_size=8, seed=0
    )
    assert len(full.preprocessor.get_layer("vectorize").get_vocabulary()) == 2 + 2 + 80


def test_saved_vocabulary_rebuilds_the_vectoriser_without_adapting(tmp_path):
    from zoo.data.preprocessing import text as text_pre

    root = _unique_words_tree(tmp_path)
    config = _config(root, text={"max_tokens": 1000, "sequence_length": 6})
    adapted = load(config, batch_size=8, seed=0)
    saved = tmp_path / "vocabulary.txt"
    saved.write_text(text_pre.vocabulary_text(adapted.preprocessor))
    before = text_pre.adapt_calls
    rebuilt = load(config, batch_size=8, seed=0, vocabulary=saved)
    assert text_pre.adapt_calls == before  # No adapting.
    sample = tf_strings(["good w3 v7 unknownword", "bad"])
    np.testing.assert_array_equal(adapted.preprocessor(sample), rebuilt.preprocessor(sample))
    assert rebuilt.info.model_inputs == adapted.info.model_inputs
    saved.write_text("not\na vocabulary\n")
    with pytest.raises(DataError, match="not a vocabulary zoo wrote"):
        load(config, batch_size=8, seed=0, vocabulary=saved)


@pytest.mark.parametrize("mode", ["multi_hot", "tf_idf"])
def test_bag_of_ngrams_modes_give_float_vectors_and_survive_the_saved_vocabulary(
    toy_tree, tmp_path, mode
):
    """multi_hot / tf_idf over 1-2-grams: one float vector of vocabulary_size per text, no
    sequence_length for the builder; the saved vocabulary (IDF weights included) rebuilds
    the same vectoriser without adapting, and one from another mode is refused."""
    config = _config(toy_tree, text={"ngrams": 2, "output_mode": mode, "sequence_length": None})
    bundle = load(config, batch_size=8, seed=0)
    vectorizer = bundle.preprocessor.get_layer("vectorize")
    vocabulary = vectorizer.get_vocabulary()
    assert vocabulary[0] == "[UNK]" and {"good", "good fine", "alpha"} <= set(vocabulary)
    assert bundle.info.model_inputs == {"vocabulary_size": len(vocabulary)}
    bags, _ = next(iter(bundle.model_ready("train")))
    assert bags.dtype.name == "float32" and bags.shape == (8, len(vocabulary))
    sample = tf_strings(["good fine good", "bad"])
    out = bundle.preprocessor(sample).numpy()
    good, bigram = vocabulary.index("good"), vocabulary.index("good fine")
    if mode == "multi_hot":
        assert out[0, good] == 1.0 and out[0, bigram] == 1.0 and out[1, good] == 0.0
    else:  # "good" and "good fine" are in the same documents (same inverse document
        # frequency); "good" is counted twice in the sample, "good fine" once.
        assert out[0, bigram] > 0.0 and out[1, good] == 0.0
        np.testing.assert_allclose(out[0, good], 2 * out[0, bigram], rtol=1e-6)
    saved = tmp_path / "vocabulary.txt"
    saved.write_text(text_prep.vocabulary_text(bundle.preprocessor))
    before = text_prep.adapt_calls
    rebuilt = load(config, batch_size=8, seed=0, vocabulary=saved)
    assert text_prep.adapt_calls == before
    np.testing.assert_array_equal(rebuilt.preprocessor(sample), out)
    if mode == "tf_idf":
        plain = _config(toy_tree, text={"ngrams": 2, "output_mode": "multi_hot"})
        other = tmp_path / "other.txt"
        other.write_text(text_prep.vocabulary_text(load(plain, batch_size=8, seed=0).preprocessor))
        with pytest.raises(DataError, match="holds no inverse document frequencies"):
            load(config, batch_size=8, seed=0, vocabulary=other)


def test_a_bag_of_ngrams_takes_no_sequence_length(toy_tree):
    with pytest.raises(ValueError, match="sequence_length applies to output_mode int"):
        _config(toy_tree, text={"output_mode": "multi_hot", "sequence_length": 100})


def tf_strings(values):
    import tensorflow as tf

    return tf.constant(values)


@pytest.mark.slow  # A whole run (training, export, evaluation): ~15 s on 2 shared cores.
def test_text_run_saves_its_vocabulary_and_evaluation_never_adapts(tmp_path):
    from zoo import train_recipe
    from zoo.config.loading import validate
    from zoo.data.preprocessing import text as text_pre
    from zoo.usecases.evaluate import evaluate

    root = _unique_words_tree(tmp_path / "data", n=12)
    recipe = validate(
        {
            "name": "vocab_run",
            "model": {"name": "text_rnn", "params": {"embedding_dim": 4, "units": [4]}},
            "data": {
                **_config(root).model_dump(),
                "text": {"max_tokens": 100, "sequence_length": 4},
            },
            "training": {"epochs": 1, "batch_size": 8},
            "evaluation": {"splits": ["test"], "metrics": ["accuracy"]},
            "export": {"saved_model": False},  # model.keras only: no fresh-process check.
        }
    )
    result = train_recipe(recipe, output_dir=tmp_path / "run", verbose=0)
    saved = result.run_dir / "vocabulary.txt"
    assert saved.is_file() and "good" in saved.read_text().splitlines()
    before = text_pre.adapt_calls
    scores = evaluate(result.run_dir, split="test")
    assert text_pre.adapt_calls == before  # Rebuilt from vocabulary.txt: no adapting.
    assert scores["test"]["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])


# ------------------------------------------------------------------ truncate: middle
def _keep_ends_by_hand(row: list[int], length: int, head: int) -> list[int]:
    words = [t for t in row if t != 0]
    kept = words if len(words) <= length else words[:head] + words[len(words) - (length - head) :]
    return kept + [0] * (length - len(kept))


def test_keep_ends_keeps_the_head_and_the_tail_of_long_rows_and_pads_short_ones():
    from zoo.models.layers import KeepEnds

    rows = [list(range(1, 13)), [5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0], [9] * 8 + [0] * 4]
    out = np.asarray(KeepEnds(8, 2)(np.array(rows, dtype="int64")))
    assert out.tolist() == [_keep_ends_by_hand(r, 8, 2) for r in rows]
    assert out[0].tolist() == [1, 2, 7, 8, 9, 10, 11, 12]  # First 2, last 6.
    # A batch narrower than the length (every text short) is padded to it.
    assert np.asarray(KeepEnds(8, 2)(np.array([[3, 4]], dtype="int64"))).tolist() == [
        [3, 4, 0, 0, 0, 0, 0, 0]
    ]


def test_truncate_middle_vectorises_whole_texts_and_keeps_both_ends(tmp_path):
    import keras

    from zoo.config.schema import TextOptions

    words = [f"w{i}" for i in range(30)]
    options = TextOptions(sequence_length=8, truncate="middle")
    pre = text_prep.build(options, None, vocabulary=words)
    ids = {w: i + 2 for i, w in enumerate(words)}  # 0 padding, 1 out of vocabulary.
    long_text, short_text = " ".join(words[:20]), "w3 w4"
    out = np.asarray(pre(tf_strings([long_text, short_text])))
    assert out[0].tolist() == [ids[w] for w in words[:2] + words[14:20]]
    assert out[1].tolist() == [ids["w3"], ids["w4"], 0, 0, 0, 0, 0, 0]
    end = np.asarray(
        text_prep.build(TextOptions(sequence_length=8), None, vocabulary=words)(
            tf_strings([long_text])
        )
    )
    assert end[0].tolist() == [ids[w] for w in words[:8]]  # The default cuts the end off.
    pre.save(tmp_path / "pre.keras")
    again = keras.saving.load_model(tmp_path / "pre.keras")  # Safe mode.
    np.testing.assert_array_equal(np.asarray(again(tf_strings([long_text, short_text]))), out)


@pytest.mark.parametrize(
    "text",
    [
        {"truncate": "middle", "sequence_length": None},
        {"truncate": "middle", "output_mode": "multi_hot"},
    ],
)
def test_truncate_middle_needs_token_ids_of_a_set_length(toy_tree, text):
    with pytest.raises(ValueError, match="truncate: middle cuts token ids"):
        _config(toy_tree, text=text)
