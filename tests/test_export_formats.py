"""Export formats behind one interface: ONNX (whole model, and a text model's token-id part
with its vocabulary), LiteRT in four quantisations, and the bad-input messages of
`zoo export` (unknown format, missing extra, no model, int8 without readable data)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def export_cli(*args: str, block: str | None = None) -> subprocess.CompletedProcess[str]:
    """`zoo export ARGS` in a fresh process; `block` makes that module unimportable there,
    as when its extra is not installed."""
    prelude = f"import sys; sys.modules[{block!r}] = None; " if block else "import sys; "
    code = prelude + "from zoo.cli.export import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _fails_cleanly(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result.stderr


# ----------------------------------------------------------------- fast: bad input
def test_unknown_format_suggests_the_closest(tmp_path):
    err = _fails_cleanly(export_cli(str(tmp_path), "--format", "onx"))
    assert "Unknown export format 'onx'" in err and "'onnx'" in err
    assert "litert" in err  # The choices are listed.


def test_unknown_quantisation_suggests_the_closest(tmp_path):
    err = _fails_cleanly(export_cli(str(tmp_path), "--format", "litert", "--quantize", "int9"))
    assert "'int9'" in err and "'int8'" in err


def test_quantize_needs_litert(tmp_path):
    err = _fails_cleanly(export_cli(str(tmp_path), "--format", "onnx", "--quantize", "int8"))
    assert "--quantize applies to --format litert" in err


@pytest.mark.parametrize(
    ("fmt", "module", "extra"),
    [
        ("onnx", "onnxruntime", "onnx"),
        ("onnx", "tf2onnx", "onnx"),
        ("litert", "ai_edge_litert", "litert"),
    ],
)
def test_missing_extra_names_the_extra(tmp_path, fmt, module, extra):
    err = _fails_cleanly(export_cli(str(tmp_path), "--format", fmt, block=module))
    assert module in err and f"pip install 'keras-recipe-zoo[{extra}]'" in err


def test_run_directory_without_a_model(tmp_path):
    from zoo.runs.manifest import register

    (tmp_path / "recipe.yaml").write_text("name: x\n")
    err = _fails_cleanly(export_cli(str(tmp_path), "--format", "onnx", "--allow-unfinished"))
    assert "is not a zoo run folder" in err and str(tmp_path) in err  # No .zoo-run.json.
    register(tmp_path, "recipe.yaml")  # A zoo run folder that never saved its model.
    err = _fails_cleanly(export_cli(str(tmp_path), "--format", "onnx", "--allow-unfinished"))
    assert "has no model.keras" in err and str(tmp_path) in err


def test_recipe_export_section_and_tflite_alias():
    from zoo.config.schema import Export
    from zoo.exporting import pipeline

    assert Export(tflite=True).litert_quantizations() == ["none"]
    both = Export(tflite=True, onnx=True, litert={"quantize": ["int8"]})
    assert pipeline.plan(both) == [
        ("keras", None),
        ("saved_model", None),
        ("onnx", None),
        ("litert", "none"),
        ("litert", "int8"),
    ]
    assert [pipeline.target(i) for i in pipeline.plan(both)][2:] == [
        "onnx",
        "model.tflite",
        "model-int8.tflite",
    ]
    with pytest.raises(ValueError, match="twice"):
        Export(litert={"quantize": ["int8", "int8"]})
    with pytest.raises(ValueError):
        Export(litert={"quantize": "int4"})


def test_a_new_format_is_one_registered_class():
    from zoo.exporting.formats import FORMATS, Format, get
    from zoo.exporting.formats.base import register

    class Dummy(Format):
        name = "dummy_test_format"

        def target(self, variant=None):
            return "dummy.bin"

    try:
        register(Dummy())
        assert get("dummy_test_format").target() == "dummy.bin"
        assert get("tflite") is FORMATS["litert"]  # The deprecated alias.
    finally:
        FORMATS.pop("dummy_test_format")


# ----------------------------------------------------------------- slow: real exports
def _tiny_npz(folder: Path) -> Path:
    """Three separable classes of 4x4 uint8 images: a model learns them in a few steps."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 96), ("test", 60)):
        y = (np.arange(n) % 3).astype(np.uint8)
        x = rng.integers(0, 60, (n, 4, 4, 1)).astype(np.uint8) + (y * 80)[:, None, None, None]
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = x.astype(np.uint8), y
    np.savez(folder / "tiny.npz", **arrays)
    recipe = folder / "tiny.yaml"
    recipe.write_text(
        "name: tiny\n"
        "model: {name: mlp, params: {hidden_units: [16], dropout: 0.0}}\n"
        "data: {source: npz, path: tiny.npz, splits: {train: train, test: test}}\n"
        "training: {batch_size: 16, epochs: 3, optimizer: {name: adam, learning_rate: 0.02},\n"
        "  loss: sparse_categorical_crossentropy, metrics: [accuracy]}\n"
        "evaluation: {splits: [test]}\n"
        "export: {onnx: true, litert: {quantize: [none, float16, dynamic_int8, int8],\n"
        "  max_accuracy_drop: 0.1}}\n"
    )
    return recipe


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from zoo import load_recipe, train_recipe

    folder = tmp_path_factory.mktemp("tiny")
    recipe = load_recipe(_tiny_npz(folder))
    return train_recipe(recipe, output_dir=folder / "run", verbose=0)


@pytest.mark.slow
def test_every_format_is_checked_in_a_fresh_process(tiny_run):
    export = json.loads((tiny_run.run_dir / "metrics.json").read_text())["export"]
    assert set(export) == {
        "keras",
        "saved_model",
        "onnx",
        "litert",
        "litert_float16",
        "litert_dynamic_int8",
        "litert_int8",
    }
    for kind, record in export.items():
        assert record["ok"] and record["fresh_process"], kind
        assert record["size_bytes"] > 0 and (tiny_run.run_dir / record["artifact"]).exists()
        # Timed at batch 1 in the same fresh process, quantised LiteRT files included.
        assert record["batch1_latency_ms"] > 0 and record["batch1_calls"] >= 5, kind
    for kind in ("onnx", "litert"):
        assert export[kind]["max_abs_difference"] <= 1e-4
    for kind in ("litert_float16", "litert_dynamic_int8", "litert_int8"):
        assert export[kind]["check"] == "accuracy"
        assert export[kind]["accuracy_drop"] == pytest.approx(
            export[kind]["float_accuracy"] - export[kind]["accuracy"]
        )
    assert export["saved_model"]["max_abs_difference"] <= 1e-5  # Via serving_default.


@pytest.mark.slow
def test_onnx_runs_in_onnxruntime_alone(tiny_run, tmp_path):
    """A process that imports only onnxruntime and numpy reproduces the Keras model."""
    from zoo.exporting.artifacts import load

    x = np.random.default_rng(1).integers(0, 255, (5, 4, 4, 1)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np, onnxruntime as ort; "
        "assert 'tensorflow' not in sys.modules; "
        f"s = ort.InferenceSession({str(tiny_run.run_dir / 'onnx' / 'model.onnx')!r}); "
        f"x = np.load({str(tmp_path / 'x.npy')!r}).astype(np.float32); "
        f"np.save({str(tmp_path / 'y.npy')!r}, s.run(None, {{s.get_inputs()[0].name: x}})[0])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = load(tiny_run.run_dir / "model.keras").predict(x)
    assert np.max(np.abs(np.load(tmp_path / "y.npy") - expected)) <= 1e-4


def test_onnx_runs_batch_norm_behind_a_resizing_layer_in_inference_mode(tmp_path):
    """Keras's Resizing defaults to training=True, and Keras's ONNX exporter traces the
    model with training unset: the BatchNormalization behind it was exported with batch
    statistics. zoo's writer says training=False (keras_applications with image_size,
    and any model with BN behind data.image.resize, had ONNX files that disagreed)."""
    import keras

    from zoo.data.bundle import DataInfo
    from zoo.exporting.formats import FORMATS, Context

    images = keras.Input((6, 6, 1), name="image")
    norm = keras.layers.BatchNormalization(name="bn")
    x = norm(keras.layers.Conv2D(2, 3, name="conv")(keras.layers.Resizing(8, 8)(images)))
    model = keras.Model(images, keras.layers.GlobalAveragePooling2D()(x))
    norm.moving_mean.assign(np.full(2, 5.0, "float32"))  # Far from any batch's statistics.
    norm.moving_variance.assign(np.full(2, 9.0, "float32"))
    x = np.random.default_rng(0).uniform(0, 255, (4, 6, 6, 1)).astype("float32")
    onnx = FORMATS["onnx"]
    path = onnx.write(model, tmp_path / "onnx", Context(DataInfo("image", (6, 6, 1), "float32")))
    expected = model.predict(x, verbose=0)
    assert np.max(np.abs(onnx.load(path)(x) - expected)) <= 1e-4
    assert np.max(np.abs(np.asarray(model(x, training=True)) - expected)) > 1  # It matters.


def test_litert_names_the_ops_it_cannot_express():
    from zoo.exporting.formats.litert import _reason

    log = "error: 'tf.MaxPool3D' op is neither a custom op nor a flex op\nlast line"
    assert _reason(log) == "LiteRT's built-in ops cannot express MaxPool3D (used by the model)"
    assert _reason("a\nb") == "b"


@pytest.mark.slow
def test_int8_without_readable_data_exits_2(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run.run_dir, run)
    recipe = (run / "recipe.yaml").read_text()
    data_path = str(tiny_run.run_dir.parent / "tiny.npz")
    assert "tiny.npz" in recipe
    (run / "recipe.yaml").write_text(recipe.replace(data_path, str(tmp_path / "gone.npz")))
    (run / "model-int8.tflite").unlink()
    err = _fails_cleanly(export_cli(str(run), "--format", "litert", "--quantize", "int8"))
    assert "int8 quantisation needs a representative sample" in err and "dynamic_int8" in err
    assert not (run / "model-int8.tflite").exists()


@pytest.mark.slow
def test_reexport_writes_a_record_per_quantisation(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run.run_dir, run)
    done = export_cli(str(run), "--format", "litert", "--quantize", "none,dynamic_int8")
    assert done.returncode == 0, done.stderr[-2000:]
    again = export_cli(str(run), "--format", "onnx")  # From the reloaded model.keras.
    assert again.returncode == 0, again.stderr[-2000:]
    for kind in ("litert", "litert_dynamic_int8", "onnx"):
        record = json.loads((run / f"export-{kind}.json").read_text())[kind]
        assert record["ok"] and record["fresh_process"] and record["batch1_latency_ms"] > 0


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """A tiny LSTM on a toy review tree, exported to ONNX."""
    from zoo import load_recipe, train_recipe

    folder = tmp_path_factory.mktemp("text")
    words = {
        "pos": ["good fine great", "great good film", "fine good"],
        "neg": ["bad awful", "awful bad film", "bad poor"],
    }
    for split in ("train", "test"):
        for label, docs in words.items():
            (folder / "reviews" / split / label).mkdir(parents=True)
            for i, doc in enumerate(docs * 2):
                (folder / "reviews" / split / label / f"{i}.txt").write_text(doc)
    (folder / "text.yaml").write_text(
        "name: tinytext\n"
        "model: {name: text_rnn, params: {embedding_dim: 8, units: [4], bidirectional: false}}\n"
        "data: {source: directory, path: reviews, splits: {train: train, test: test},\n"
        "  class_names: [neg, pos], text: {sequence_length: 6, max_tokens: 40}}\n"
        "training: {batch_size: 4, epochs: 1, loss: sparse_categorical_crossentropy}\n"
        "evaluation: {splits: [test]}\n"
        "export: {onnx: true}\n"
    )
    return train_recipe(load_recipe(folder / "text.yaml"), output_dir=folder / "run", verbose=0)


@pytest.mark.slow
def test_text_model_onnx_takes_token_ids_with_its_vocabulary(text_run):
    record = json.loads((text_run.run_dir / "metrics.json").read_text())["export"]["onnx"]
    assert record["ok"] and record["input"] == "token_ids"
    assert record["max_abs_difference"] <= 1e-4
    assert "vocabulary.txt" in record["note"]
    folder = text_run.run_dir / "onnx"
    vocabulary = (folder / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert vocabulary[:2] == ["", "[UNK]"] and "good" in vocabulary and "awful" in vocabulary
    described = json.loads((folder / "preprocessing.json").read_text())
    assert described["text_vectorization"]["output_sequence_length"] == 6
    assert described["vocabulary_size"] == len(vocabulary)
    card = (text_run.run_dir / "model_card.md").read_text()
    assert "token_ids" in card


# ------------------------------------------------ one write_variants call per format
def _mlp_and_context(representative=None):
    from zoo import build_model
    from zoo.data.bundle import DataInfo
    from zoo.exporting.formats import Context

    model = build_model("mlp", input_shape=(4, 4, 1), num_classes=3, hidden_units=(8,))
    x = np.random.default_rng(0).uniform(0, 255, (16, 4, 4, 1)).astype("float32")
    info = DataInfo("image", (4, 4, 1), "float32", num_classes=3)
    return model, x, Context(info, representative)


@pytest.mark.slow  # Four LiteRT conversions, in one child process.
def test_litert_converts_every_quantisation_from_one_savedmodel_in_one_child(tmp_path, monkeypatch):
    """The export matrix's cost: each quantisation used to write its own SavedModel and
    start its own child (a TensorFlow import each). Counted by calling through to the
    real subprocess.run and SavedModel writer; each file is then checked as the trainer
    checks it, in a fresh process."""
    from zoo.evaluation.scoring import predictor
    from zoo.exporting import pipeline, verify
    from zoo.exporting.formats import FORMATS
    from zoo.exporting.formats.litert import QUANTIZATIONS
    from zoo.exporting.formats.saved_model import SAVED_MODEL

    model, x, ctx = _mlp_and_context(lambda: x)
    children, saved_models = [], []
    real_run, real_write = subprocess.run, SAVED_MODEL.write

    def counted_run(cmd, *args, **kwargs):
        children.append(cmd)
        return real_run(cmd, *args, **kwargs)

    def counted_write(model, path, *args, **kwargs):
        saved_models.append(path)
        return real_write(model, path, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counted_run)
    monkeypatch.setattr(SAVED_MODEL, "write", counted_write)
    items = [("litert", q) for q in QUANTIZATIONS]
    paths = pipeline.write(model, items, lambda name: tmp_path / name, ctx)
    monkeypatch.undo()

    assert len(children) == 1 and "zoo.exporting.formats.litert" in children[0]
    assert len(saved_models) == 1
    litert = FORMATS["litert"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        litert.target(q) for q in QUANTIZATIONS
    )
    expected = predictor(model)(x)
    jobs = [
        verify.Job(kind, path, x, expected, verify.tolerance_of(kind), expected.argmax(-1))
        for kind, path in paths.items()
    ]
    checks = verify.run(jobs)
    assert set(checks) == {"litert", "litert_float16", "litert_dynamic_int8", "litert_int8"}
    for kind, check in checks.items():
        assert check["fresh_process"], kind
        assert check["max_abs_difference"] <= (1e-4 if kind == "litert" else 0.05), check


@pytest.mark.slow  # Three LiteRT conversions, in one child process.
def test_a_quantisation_the_converter_refuses_leaves_the_others_written(tmp_path):
    """A representative sample of the wrong shape fails int8 calibration in the converter
    itself, in the middle of the child's conversions: the ones before and after it are
    written, and the error names int8 and the converter's reason."""
    from zoo.errors import ZooError
    from zoo.exporting import pipeline
    from zoo.exporting.formats import FORMATS

    wrong = np.zeros((4, 5, 5, 1), "float32")
    model, _, ctx = _mlp_and_context(lambda: wrong)
    litert = FORMATS["litert"]
    targets = [(q, tmp_path / litert.target(q)) for q in ("none", "int8", "dynamic_int8")]
    outcomes = litert.write_variants(model, targets, ctx)
    assert outcomes["none"] == targets[0][1] and outcomes["dynamic_int8"] == targets[2][1]
    assert isinstance(outcomes["int8"], ZooError)
    message = str(outcomes["int8"])
    assert message.startswith(f"LiteRT conversion (int8) of {model.name} failed")
    assert "Drop this quantisation from export.litert" in message
    assert "(exit" not in message  # The child reported it: it did not die of it.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        litert.target(q) for q in ("none", "dynamic_int8")
    )

    # Through the pipeline: one ZooError naming int8 only, the others in place.
    other = tmp_path / "again"
    other.mkdir()
    items = [("litert", q) for q in ("none", "int8", "dynamic_int8")]
    with pytest.raises(ZooError, match=r"LiteRT conversion \(int8\)") as err:
        pipeline.write(model, items, lambda name: other / name, ctx)
    assert "(none)" not in str(err.value) and "(dynamic_int8)" not in str(err.value)
    assert (other / litert.target("none")).is_file()
    assert (other / litert.target("dynamic_int8")).is_file()
    assert not (other / litert.target("int8")).exists()


@pytest.mark.slow  # Two LiteRT conversions, in one child process.
def test_each_quantisation_of_an_unconvertible_model_names_the_op(tmp_path):
    """The converter's reason, caught per conversion in the child, still names the op
    LiteRT cannot express (it is in the converter's error, not only in its log)."""
    import keras

    from zoo.data.bundle import DataInfo
    from zoo.errors import ZooError
    from zoo.exporting.formats import FORMATS, Context

    clip = keras.Input((4, 8, 8, 1))
    y = keras.layers.GlobalAveragePooling3D()(keras.layers.MaxPooling3D((1, 2, 2))(clip))
    model = keras.Model(clip, keras.layers.Dense(2, activation="softmax")(y))
    ctx = Context(DataInfo("clip", (4, 8, 8, 1), "float32", num_classes=2))
    litert = FORMATS["litert"]
    targets = [(q, tmp_path / litert.target(q)) for q in ("none", "float16")]
    outcomes = litert.write_variants(model, targets, ctx)
    for q, _ in targets:
        assert isinstance(outcomes[q], ZooError)
        assert f"LiteRT conversion ({q}) of {model.name} failed in its child process: " in (
            str(outcomes[q])
        )
        assert "LiteRT's built-in ops cannot express MaxPool3D" in str(outcomes[q])
    assert list(tmp_path.iterdir()) == []  # No temp file, no SavedModel left behind.
    with pytest.raises(ZooError, match=r"\(none\).*MaxPool3D"):
        litert.write(model, tmp_path / "model.tflite", ctx, "none")  # One target: the same.


@pytest.fixture
def batched_formats():
    """Two formats registered for the test: `batched_test` (variants a, b, c; b fails
    to convert, c cannot be moved into place) and `later_test`, planned after it."""
    import errno

    from zoo.errors import ZooError
    from zoo.exporting.formats import FORMATS, Format

    calls: list[tuple[str, list[tuple[str | None, Path]]]] = []

    class Batched(Format):
        name = "batched_test"
        variants = ("a", "b", "c")

        def target(self, variant=None):
            return f"{self.name}-{variant}.bin"

        def write_variants(self, model, targets, ctx):
            calls.append((self.name, list(targets)))
            out = {}
            for variant, path in targets:
                if variant == "b":
                    out[variant] = ZooError(f"{self.name} ({variant}) failed.")
                elif variant == "c":
                    out[variant] = OSError(errno.EACCES, "Permission denied")
                else:
                    path.write_text(variant)
                    out[variant] = path
            return out

    class Later(Format):
        name = "later_test"

        def target(self, variant=None):
            return "later.bin"

        def write(self, model, path, ctx, variant=None):
            calls.append((self.name, [(variant, path)]))
            path.write_text("later")
            return path

    FORMATS.update({"batched_test": Batched(), "later_test": Later()})
    yield calls
    for name in ("batched_test", "later_test"):
        FORMATS.pop(name)


def test_the_pipeline_writes_a_format_s_variants_in_one_call(batched_formats, tmp_path):
    """Variants of one format in one `write_variants` call (in plan order, interleaved
    items included); each failure is raised under its own path's guard, so `zoo export`'s
    OSError message names that path; a later format is not begun."""
    from zoo.errors import ZooError
    from zoo.exporting import pipeline
    from zoo.fs import writing

    entered: list[str] = []

    def guard(path):
        entered.append(path.name)
        return writing(path)

    items = [("batched_test", "a"), ("later_test", None), ("batched_test", "b")]
    assert pipeline.by_format(items) == [
        ("batched_test", [("batched_test", "a"), ("batched_test", "b")]),
        ("later_test", [("later_test", None)]),
    ]
    with pytest.raises(ZooError) as err:
        pipeline.write(None, [*items, ("batched_test", "c")], lambda n: tmp_path / n, None, guard)
    names = ["batched_test-a.bin", "batched_test-b.bin", "batched_test-c.bin"]
    assert batched_formats == [
        ("batched_test", [(v, tmp_path / n) for v, n in zip("abc", names, strict=True)])
    ]
    message = str(err.value)
    assert message.startswith("batched_test (b) failed. Cannot write ")
    assert f"{tmp_path / names[2]}: Permission denied" in message  # c's own path.
    assert [p.name for p in tmp_path.iterdir()] == [names[0]]  # a written, later not begun.
    assert sorted(entered[:3]) == sorted(names)  # Every guard held while writing.

    batched_formats.clear()
    paths = pipeline.write(
        None, [("later_test", None), ("batched_test", "a")], lambda n: tmp_path / n, None
    )
    assert paths == {"later_test": tmp_path / "later.bin", "batched_test_a": tmp_path / names[0]}
    assert [name for name, _ in batched_formats] == ["later_test", "batched_test"]
