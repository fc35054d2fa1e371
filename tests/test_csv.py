"""The `csv` source: text or numeric feature columns, label mapping, splits, errors."""

import json
import os
import random

import numpy as np
import pytest

from zoo.config.schema import CsvData
from zoo.data import load
from zoo.errors import DataError

GOOD = ["good", "great", "fine", "lovely", "superb", "enjoyable"]
BAD = ["bad", "awful", "poor", "dull", "boring", "terrible"]
FILLER = ["the", "a", "movie", "film", "plot", "it", "was", "and", "of"]


def _review(rng: random.Random, positive: bool) -> str:
    words = rng.choices(GOOD if positive else BAD, k=3) + rng.choices(FILLER, k=5)
    rng.shuffle(words)
    return " ".join(words)


def _write(path, rows, header=("review", "sentiment"), delimiter=","):
    lines = [delimiter.join(header)] if header else []
    lines += [delimiter.join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        positive = i % 2 == 0
        out.append((_review(rng, positive), "positive" if positive else "negative"))
    return out


@pytest.fixture
def reviews(tmp_path):
    _write(tmp_path / "train.csv", _rows(240, 0))
    _write(tmp_path / "test.csv", _rows(60, 1))
    return tmp_path


def _config(path, **kw):
    base = {
        "source": "csv",
        "path": str(path),
        "splits": {"train": "train.csv", "test": "test.csv"},
        "text_column": "review",
        "label_column": "sentiment",
    }
    return CsvData(**{**base, **kw})


def test_text_csv_maps_string_labels_and_vectorises(reviews):
    bundle = load(_config(reviews, validation_fraction=0.25), batch_size=16, seed=0)
    info = bundle.info
    assert info.class_names == ("negative", "positive")  # sorted
    assert info.num_examples == {"train": 180, "validation": 60, "test": 60}
    assert info.input_dtype == "string" and bundle.preprocessor is not None
    text, labels = next(iter(bundle.test))
    for t, y in zip(text.numpy(), labels.numpy(), strict=True):
        assert (y == 1) == any(w in t.decode().split() for w in GOOD)


def test_tsv_without_header_uses_column_indices_and_numeric_labels(tmp_path):
    rows = [(str(i % 3), f"{i * 0.1:.1f}", f"{i % 7}.5") for i in range(30)]
    _write(tmp_path / "data.tsv", rows, header=None, delimiter="\t")
    config = CsvData(
        source="csv",
        path=str(tmp_path / "data.tsv"),
        header=False,
        feature_columns=[1, 2],
        label_column=0,
        validation_fraction=0.2,
        test_fraction=0.2,
    )
    bundle = load(config, batch_size=8, seed=0)
    info = bundle.info
    assert info.num_examples == {"train": 18, "validation": 6, "test": 6}
    assert (info.input_name, info.input_shape, info.input_dtype) == ("features", (2,), "float32")
    assert info.class_names == ("0", "1", "2") and bundle.preprocessor is None
    x, y = next(iter(bundle.test))
    for (f1, _), label in zip(x.numpy(), y.numpy(), strict=True):
        assert label == round(f1 * 10) % 3  # Labels kept with their rows through the split.


def test_csv_errors_name_the_field_and_fix(reviews, tmp_path):
    with pytest.raises(DataError, match=r"data\.text_column: .* no column 'reveiw'.*'review'"):
        load(_config(reviews, text_column="reveiw"), batch_size=4, seed=0)
    with pytest.raises(DataError, match=r"data\.splits\.test: .*nope\.csv is not a file"):
        load(
            _config(reviews, splits={"train": "train.csv", "test": "nope.csv"}),
            batch_size=4,
            seed=0,
        )
    _write(tmp_path / "empty.csv", [])
    with pytest.raises(DataError, match=r"data\.splits\.test: .*empty\.csv holds no data rows"):
        load(
            _config(tmp_path, splits={"train": "train.csv", "test": "empty.csv"}),
            batch_size=4,
            seed=0,
        )
    _write(reviews / "odd.csv", [("great film", "neutral")])
    with pytest.raises(DataError, match=r"labels \['neutral'\] that the training split never uses"):
        load(
            _config(reviews, splits={"train": "train.csv", "test": "odd.csv"}), batch_size=4, seed=0
        )
    with pytest.raises(ValueError, match="exactly one of text_column or feature_columns"):
        CsvData(source="csv", path="x.csv", label_column=0)


@pytest.mark.slow  # A whole text run (train, evaluate, export): about 20 s.
def test_text_csv_run_learns_and_saves_the_label_mapping(reviews, tmp_path):
    import tensorflow as tf

    from zoo import train_recipe
    from zoo.config.loading import validate

    recipe = validate(
        {
            "name": "csv_text",
            "model": {
                "name": "text_rnn",
                "params": {"embedding_dim": 16, "units": [8], "cell": "gru", "pooling": "mean"},
            },
            "data": {
                **_config(reviews, validation_fraction=0.2).model_dump(),
                "text": {"max_tokens": 100, "sequence_length": 10},
            },
            "training": {
                "epochs": 8,
                "batch_size": 16,
                "optimizer": {"name": "adam", "learning_rate": 0.02},
            },
            "evaluation": {"splits": ["test"], "metrics": ["accuracy"]},
        }
    )
    result = train_recipe(recipe, output_dir=tmp_path / "run", verbose=0)
    assert result.metrics["test"]["accuracy"] >= 0.9
    classes = json.loads((result.run_dir / "classes.json").read_text())
    assert classes["label_mapping"] == {"negative": 0, "positive": 1}
    serve = tf.saved_model.load(str(result.run_dir / "saved_model")).signatures["serving_default"]
    probs = serve(text=tf.constant(["great superb film", "awful dull plot"]))["probabilities"]
    assert np.argmax(probs.numpy(), axis=1).tolist() == [1, 0]


# ------------------------------------------------------------------ streaming
def _python_rows(path):
    """The old in-memory reading: every data row through Python's csv reader."""
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r]
    return rows[1:]


def _all(ds):
    xs, ys = [], []
    for x, y in ds:
        xs += [v.decode() if isinstance(v, bytes) else v for v in x.numpy().tolist()]
        ys += y.numpy().tolist()
    return xs, ys


def test_streaming_csv_equals_the_in_memory_rows(tmp_path):
    rows = [("plain text", "b"), ('quoted, with "comma"', "a"), ("two\nlines", "c")] * 5
    body = "review,sentiment\n" + "".join(
        '"' + t.replace('"', '""') + '",' + y + "\n" for t, y in rows
    )
    (tmp_path / "train.csv").write_text(body)
    (tmp_path / "test.csv").write_text(body)
    config = _config(tmp_path, shuffle_buffer=0, text={"max_tokens": 50})
    bundle = load(config, batch_size=4, seed=0)
    expected = _python_rows(tmp_path / "test.csv")
    mapping = bundle.info.label_mapping()
    assert _all(bundle.test) == ([t for t, _ in expected], [mapping[y] for _, y in expected])
    assert bundle.info.num_examples == {"train": 15, "test": 15}


def test_fraction_split_by_row_hash_is_exact_disjoint_and_seeded(tmp_path):
    rows = [(f"{i}", f"{i % 4}") for i in range(101)]
    _write(tmp_path / "one.csv", rows, header=("n", "y"))
    config = CsvData(
        source="csv",
        path=str(tmp_path / "one.csv"),
        feature_columns=["n"],
        label_column="y",
        validation_fraction=0.2,
        test_fraction=0.1,
        shuffle_buffer=0,
    )
    bundle = load(config, batch_size=8, seed=3)
    assert bundle.info.num_examples == {"train": 71, "validation": 20, "test": 10}
    parts = {r: _all(bundle.split(r)) for r in ("train", "validation", "test")}
    seen = [int(x[0]) for r in parts for x in parts[r][0]]
    assert sorted(seen) == list(range(101))  # Every row once, in one split.
    for xs, ys in parts.values():  # Labels stay with their rows.
        assert [int(x[0]) % 4 for x in xs] == ys
    other = load(config, batch_size=8, seed=4)
    assert _all(other.test)[0] != parts["test"][0]  # The seed picks the rows.


def test_scan_is_saved_under_the_cache_root_and_reused(reviews, tmp_path_factory, caplog):
    import logging

    cache = tmp_path_factory.mktemp("cache")
    before = sorted(os.listdir(reviews))
    load(_config(reviews, cache_dir=str(cache)), batch_size=8, seed=0)
    assert sorted(os.listdir(reviews)) == before  # Nothing written beside the data.
    assert len(list((cache / "csv-scans").glob("*.json"))) == 2  # train.csv, test.csv
    with caplog.at_level(logging.INFO, logger="zoo"):
        load(_config(reviews, cache_dir=str(cache)), batch_size=8, seed=0)
    assert "train.csv: labels and counts from the saved scan" in caplog.text
    _write(reviews / "train.csv", _rows(200, 5))  # Changed file: scanned again.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zoo"):
        bundle = load(_config(reviews, cache_dir=str(cache)), batch_size=8, seed=0)
    assert "train.csv: labels and counts from the saved" not in caplog.text
    assert bundle.info.num_examples["train"] == 200


def test_read_only_data_folder_is_read_and_never_written(reviews, tmp_path_factory):
    # Root ignores 0555, so the test also compares the listing: nothing may appear.
    cache = tmp_path_factory.mktemp("cache")
    before = sorted(os.listdir(reviews))
    reviews.chmod(0o555)
    try:
        bundle = load(_config(reviews, cache_dir=str(cache)), batch_size=8, seed=0)
        again = load(_config(reviews, cache_dir=str(cache)), batch_size=8, seed=0)
    finally:
        reviews.chmod(0o755)
    assert sorted(os.listdir(reviews)) == before
    assert bundle.info.num_examples == again.info.num_examples


def test_unwritable_cache_root_still_loads(reviews, tmp_path_factory):
    blocker = tmp_path_factory.mktemp("elsewhere") / "cache"
    blocker.write_text("a file where the cache folder would go")
    bundle = load(_config(reviews, cache_dir=str(blocker)), batch_size=8, seed=0)
    assert bundle.info.num_examples["train"] == 240
    assert blocker.read_text().startswith("a file")


def test_blank_lines_stream_through_the_python_reader(tmp_path):
    (tmp_path / "train.csv").write_text("review,sentiment\ngood,p\n\nbad,n\n\n")
    (tmp_path / "test.csv").write_text("review,sentiment\nbad,n\n")
    bundle = load(_config(tmp_path, shuffle_buffer=0), batch_size=8, seed=0)
    assert _all(bundle.train) == (["good", "bad"], [1, 0])


def test_wrong_column_count_deep_in_a_file_names_its_line(tmp_path):
    rows = [(f"w{i}", "p" if i % 2 else "n") for i in range(50)]
    _write(tmp_path / "train.csv", rows)
    text = (tmp_path / "train.csv").read_text().splitlines()
    text[41] = "w,p,extra"
    (tmp_path / "train.csv").write_text("\n".join(text) + "\n")
    (tmp_path / "test.csv").write_text("review,sentiment\nw,p\n")
    with pytest.raises(DataError, match=r"train\.csv line 42 has 3 columns"):
        load(_config(tmp_path), batch_size=8, seed=0)


def _docs_file(path, n):
    _write(path, [(f"doc{i}", f"c{i % 3}") for i in range(n)], header=("text", "y"))
    return path


def test_scan_picks_the_vocabulary_sample_and_a_saved_scan_streams_the_same(tmp_path, monkeypatch):
    from zoo.data.sources import csv as csv_source
    from zoo.data.sources import csv_scan

    monkeypatch.setattr(csv_scan._Sampler, "BLOCK", 64)  # Prune often: a bounded sample.
    path = _docs_file(tmp_path / "one.csv", 5000)
    config = CsvData(source="csv", path=str(path), text_column="text", label_column="y")
    fractions, seed = (0.1, 0.2), 5
    fresh = csv_scan.scan(path, config, "train", fractions=fractions, seed=seed, sample=100)
    # Expected: the 100 training rows with the smallest sample hash, in file order.
    rows = np.arange(5000)
    train = rows[csv_scan.unit(rows, seed) >= fresh.thresholds[1]]
    h = csv_scan.unit(train, csv_scan.sample_seed(seed))
    expected = [f"doc{i}" for i in np.sort(train[np.argsort(h)[:100]])]
    assert fresh.sample_texts == expected
    saved = csv_scan.scan(path, config, "train", fractions=fractions, seed=seed, sample=100)
    assert saved.sample_texts is None and saved.sample_cutoff == fresh.sample_cutoff
    streamed = csv_source._sampled_texts(path, config, saved, seed)
    assert [t.decode() for t in streamed.as_numpy_iterator()] == expected
    everything = csv_scan.scan(path, config, "train", fractions=fractions, seed=seed, sample=9999)
    assert everything.sample_texts == [f"doc{i}" for i in train]


def test_first_lines_count_multi_line_cells(tmp_path):
    (tmp_path / "train.csv").write_text('review,sentiment\n"two\nlines",p\nok,n\n')
    (tmp_path / "test.csv").write_text('review,sentiment\n"a\nb\nc",p\nfine,x\n')
    with pytest.raises(DataError, match=r"labels \['x'\] that the training split never uses "):
        load(_config(tmp_path), batch_size=8, seed=0)
    with pytest.raises(DataError, match=r"\(line 5\)"):
        load(_config(tmp_path), batch_size=8, seed=0)


def test_learnt_vocabulary_is_cached_per_data_version_and_options(tmp_path):
    from zoo.data.preprocessing import text as text_prep

    path = _docs_file(tmp_path / "one.csv", 300)
    cache = tmp_path / "cache"

    def vocabulary(**text):
        config = CsvData(
            source="csv",
            path=str(path),
            text_column="text",
            label_column="y",
            cache_dir=str(cache),
            text={"max_tokens": 400, **text},
        )
        bundle = load(config, batch_size=8, seed=0)
        return bundle.preprocessor.get_layer("vectorize").get_vocabulary()

    before = text_prep.adapt_calls
    first = vocabulary()
    assert vocabulary() == first  # Read from the cache:
    assert text_prep.adapt_calls == before + 1  # learnt once.
    (saved,) = (cache / "vocabularies").glob("*.txt")
    saved.write_text("not a vocabulary\n")  # Damaged: never trusted, learnt again.
    assert vocabulary() == first
    assert text_prep.adapt_calls == before + 2
    assert len(vocabulary(max_tokens=50)) == 50  # Other options: another entry.
    assert text_prep.adapt_calls == before + 3
    _docs_file(path, 200)  # Other data: learnt again from it.
    assert "doc250" not in vocabulary()
    assert text_prep.adapt_calls == before + 4


@pytest.mark.parametrize("header", [True, False])
def test_excel_csv_with_byte_order_mark_and_crlf_reads_cleanly(tmp_path, header):
    bom = b"\xef\xbb\xbf"
    rows = b"1.5,a\r\n2.5,b\r\n3.5,a\r\n"
    (tmp_path / "one.csv").write_bytes(bom + (b"x,y\r\n" if header else b"") + rows)
    config = CsvData(
        source="csv",
        path=str(tmp_path / "one.csv"),
        header=header,
        feature_columns=["x"] if header else [0],
        label_column="y" if header else 1,
        validation_fraction=0,
        test_fraction=0,
        shuffle_buffer=0,
    )
    bundle = load(config, batch_size=8, seed=0)
    xs, ys = _all(bundle.train)
    assert xs == [[1.5], [2.5], [3.5]] and ys == [0, 1, 0]
    assert bundle.info.class_names == ("a", "b")


def test_latin1_csv_is_refused_with_its_line_number(tmp_path):
    rows = "review,sentiment\n" + "fine film,pos\n" * 5 + "caf\xe9 scene,neg\n" + "ok,neg\n"
    (tmp_path / "train.csv").write_bytes(rows.encode("latin-1"))
    (tmp_path / "test.csv").write_text("review,sentiment\nok,pos\n")
    with pytest.raises(DataError) as err:
        load(_config(tmp_path), batch_size=4, seed=0)
    text = str(err.value)
    assert "train.csv" in text and "line 7 is not UTF-8 (byte 0xe9)" in text
