"""Every registered builder against every export format, held to one bar: either the
format converts the builder's model and the artifact, reloaded in a fresh process,
predicts what the Keras model predicts, or zoo refuses the pair before any training
(`Format.unconvertible`, checked on the built model; `register_model(cannot_export=...)`
at recipe load time), and then the conversion really fails: a refusal may not hide a
pair that works.

Parametrised over `list_models()` × every format and variant, with the small
configurations of tests/test_families.py, so a new builder or format lands only with
its whole row or column settled; beyond them, what parameters and data decide: the
keras_applications families, and the data's preprocessors exported in front of the
model (an antialiased clip resize, a text vectoriser). The conversions are the slow tier;
the refusals themselves (recipe load, search, trainer, `zoo export`) are fast.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, run_cli
from tests.test_families import SMALL, _batch, _build
from zoo import list_models
from zoo.exporting.formats import FORMATS
from zoo.models.registry import get_model_entry

ITEMS = [
    (fmt.name, variant)
    for fmt in sorted(FORMATS.values(), key=lambda f: f.plan_order)
    for variant in fmt.variants
]


def _kind(item: tuple[str, str | None]) -> str:
    return FORMATS[item[0]].kind(item[1])


# ----------------------------------------------------------------- fast: declarations
@pytest.mark.parametrize("name", list_models())
def test_declared_refusals_name_formats_the_layer_check_confirms(name):
    """A builder's `cannot_export` names registered formats, and the format's own layer
    check finds the reason in the built model (small and default parameters), in every
    variant: the load-time refusal and the build-time one agree."""
    from zoo import build_model

    declared = get_model_entry(name).cannot_export
    assert set(declared) <= set(FORMATS), declared
    for fmt_name in declared:
        fmt = FORMATS[fmt_name]
        for model in (_build(name), build_model(name)):
            for variant in fmt.variants:
                assert fmt.blockers([model], variant), (name, fmt_name, variant)


def test_the_layer_check_reads_classes_bases_settings_and_nested_models():
    import keras

    from zoo.exporting.formats.base import Format, Unconvertible

    class Pool(keras.layers.MaxPooling3D):  # A subclass counts as its base.
        pass

    class Fussy(Format):
        name = "fussy_test_format"
        unconvertible = (
            Unconvertible("MaxPooling3D", "tf.MaxPool3D", "no 3D pooling"),
            Unconvertible(
                "Dense", "tf.MatMul", "no wide dense", when=lambda layer: layer.units > 4
            ),
            Unconvertible("ReLU", "tf.Relu", "no int8 relu", variants=("int8",)),
        )

    clip = keras.Input((2, 4, 4, 1))
    inner = keras.Model(clip, Pool(name="inner_pool")(clip), name="inner")
    x = keras.Input((2, 4, 4, 1))
    y = keras.layers.Flatten()(inner(x))
    y = keras.layers.ReLU(name="act")(keras.layers.Dense(3, name="narrow")(y))
    model = keras.Model(x, keras.layers.Dense(8, name="wide")(y))
    fussy = Fussy()
    found = {b.rule.op: b.layers for b in fussy.blockers([None, model])}
    assert found == {"tf.MaxPool3D": ("inner_pool",), "tf.MatMul": ("wide",)}
    assert "act" in {n for b in fussy.blockers([model], "int8") for n in b.layers}
    (pool,) = [b for b in fussy.blockers([model]) if b.rule.op == "tf.MaxPool3D"]
    assert pool.describe() == "layer inner_pool (Pool) needs tf.MaxPool3D: no 3D pooling"


def test_the_shipped_rules_see_wrapped_cells_and_activations():
    """LiteRT finds the LSTM inside Bidirectional; ONNX finds the exact GELU, not the
    approximate one (tanh, no Erfc)."""
    import keras

    tokens = keras.Input((5,), dtype="int64")
    x = keras.layers.Embedding(10, 4)(tokens)
    x = keras.layers.Bidirectional(keras.layers.LSTM(2, name="cell"), name="both")(x)
    exact = keras.layers.Dense(3, activation="gelu", name="exact")(x)
    approximate = keras.layers.Activation(
        lambda t: keras.activations.gelu(t, approximate=True), name="approximate"
    )(x)
    model = keras.Model(tokens, [exact, approximate])
    (rnn,) = FORMATS["litert"].blockers([model], "int8")
    assert {"LSTM"} <= set(rnn.classes) and rnn.rule.layer == "RNN"
    (gelu,) = FORMATS["onnx"].blockers([model])
    assert gelu.layers == ("exact",) and gelu.rule.op == "tf.Erfc"
    assert not FORMATS["saved_model"].blockers([model]) and not FORMATS["keras"].blockers([model])

    grouped, plain = keras.layers.Conv2D(4, 3, groups=2), keras.layers.Conv2D(4, 3)
    norm = keras.layers.Normalization(mean=0.0, variance=1.0)
    found = {b.rule.layer: b.layers for b in FORMATS["onnx"].blockers([grouped, plain, norm])}
    assert found == {"BaseConv": (grouped.name,), "Normalization": (norm.name,)}

    from zoo.models.layers import VideoPreprocess

    resized, sampled = VideoPreprocess(resize=(4, 4)), VideoPreprocess(frames=2)
    for fmt in ("onnx", "litert"):  # The data's preprocessor is read too, by its settings.
        assert FORMATS[fmt].blockers([None, resized]) and not FORMATS[fmt].blockers([sampled])


# ----------------------------------------------------------------- fast: refusals
def _video_litert(tmp_path: Path, *args: str) -> tuple[object, Path]:
    run = tmp_path / "run"
    out = run_cli(
        "recipes/moving_shapes_video_cnn.yaml",
        "--set",
        "export.litert={quantize: [none, int8]}",
        "--output-dir",
        str(run),
        *args,
    )
    return out, run


@pytest.mark.parametrize("dry_run", [False, True], ids=["train", "dry_run"])
def test_a_recipe_asking_litert_of_video_cnn_exits_2_before_training(tmp_path, dry_run):
    out, run = _video_litert(tmp_path, *(["--dry-run"] if dry_run else []))
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert "recipes/moving_shapes_video_cnn.yaml has 1 problem" in out.stderr
    assert "export.litert: model 'video_cnn' cannot be exported to litert" in out.stderr
    assert "MaxPooling3D" in out.stderr and "video_r2plus1d" in out.stderr
    assert "Drop export.litert" in out.stderr
    assert not run.exists()  # No run folder at all, let alone one that looks finished.


def test_the_deprecated_tflite_field_is_the_one_named(tmp_path):
    from zoo import RecipeError, load_recipe

    with pytest.raises(RecipeError) as err:
        load_recipe(
            REPO / "recipes/moving_shapes_video_cnn.yaml",
            ["model.name=frame_average_cnn", "export.tflite=true"],
        )
    (problem,) = err.value.problems
    assert problem.path == "export.tflite" and "frame_average_cnn" in problem.message
    load_recipe(REPO / "recipes/moving_shapes_r2plus1d.yaml", ["export.tflite=true"])  # Fine.


def test_a_search_whose_choices_include_an_unexportable_model_is_refused(tmp_path):
    """Every sampled trial recipe validates like the recipe: a search over model.name
    cannot start a trial whose best model could not be exported as asked."""
    from zoo import RecipeError, load_recipe

    recipe = tmp_path / "search.yaml"
    recipe.write_text(
        "extends: " + str(REPO / "recipes/moving_shapes_video_cnn.yaml") + "\n"
        "model: {name: video_r2plus1d}\n"  # Its params (filters, dropout) fit both.
        "export: {litert: {quantize: none}}\n"
        "search:\n"
        "  parameters: {model.name: {choice: [video_r2plus1d, video_cnn]}}\n"
        "  objective: {metric: accuracy, split: validation}\n"
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe)
    assert "model.name='video_cnn'" in str(err.value) and "MaxPooling3D" in str(err.value)


@pytest.mark.parametrize("fmt", ["export.onnx=true", "export.litert={quantize: none}"])
def test_an_antialiased_clip_resize_is_refused_for_onnx_and_litert(fmt):
    """data.video.resize puts a ScaleAndTranslate in front of the model: the recipe alone
    decides it, so it is refused at load time (and by the layer check before fit)."""
    from zoo import RecipeError, load_recipe

    recipe = REPO / "recipes/moving_shapes_r2plus1d.yaml"
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe, ["data.video.resize=[24, 24]", fmt])
    (problem,) = err.value.problems
    assert problem.path == fmt.split("=")[0] and "ScaleAndTranslate" in problem.message
    assert "drop data.video.resize" in problem.message
    load_recipe(recipe, [fmt])  # Without the resize: converts.


CLIPS_RECIPE = """
name: pool3d
model: {name: %s}
data: {source: npz, path: clips.npz, splits: {train: train, test: test}}
training: {batch_size: 4, epochs: 1, loss: sparse_categorical_crossentropy}
evaluation: {splits: [test]}
export: {litert: {quantize: [none, dynamic_int8]}, onnx: true}
"""


@pytest.fixture
def undeclared_pool3d(tmp_path):
    """A builder with MaxPooling3D that declares nothing (as a user's plugin might), and
    a recipe of tiny clips asking LiteRT of it: only the trainer's layer check can tell."""
    from zoo import register_model
    from zoo.models import registry

    name = "pool3d_test_builder"

    @register_model(name, task="classification")
    def pool3d(*, input_shape=(4, 8, 8, 1), num_classes=2):
        import keras

        x = keras.Input(input_shape)
        y = keras.layers.MaxPooling3D((1, 2, 2), name="pool")(x)
        y = keras.layers.GlobalAveragePooling3D()(y)
        return keras.Model(x, keras.layers.Dense(num_classes, name="predictions")(y))

    rng = np.random.default_rng(0)
    clips = rng.integers(0, 255, (8, 4, 8, 8, 1), dtype=np.uint8)
    labels = np.arange(8) % 2
    np.savez(
        tmp_path / "clips.npz",
        train_images=clips,
        train_labels=labels,
        test_images=clips,
        test_labels=labels,
    )
    recipe = tmp_path / "pool3d.yaml"
    recipe.write_text(textwrap.dedent(CLIPS_RECIPE % name))
    yield recipe
    registry._REGISTRY.pop(name)


@pytest.mark.parametrize("how", ["train", "check"])
def test_the_trainer_refuses_an_unconvertible_model_before_fit(undeclared_pool3d, how):
    import zoo
    from zoo import RecipeError, load_recipe

    load_recipe(undeclared_pool3d)  # Nothing declared: the recipe alone looks fine.
    run = undeclared_pool3d.parent / "run"
    with pytest.raises(RecipeError) as err:
        if how == "train":
            zoo.train(undeclared_pool3d, output_dir=run, verbose=0)
        else:
            zoo.check(undeclared_pool3d)
    (problem,) = err.value.problems
    assert problem.path == "export.litert"
    assert str(undeclared_pool3d) in str(err.value)
    message = problem.message
    assert "LiteRT cannot convert model pool3d_test_builder (quantize none, dynamic_int8)" in (
        message
    )
    assert "layer pool (MaxPooling3D) needs tf.MaxPool3D" in message
    assert "video_r2plus1d" in message
    assert "before any training" in message
    assert not run.exists()  # Refused before the run folder's first write.


def test_zoo_export_refuses_before_writing(tmp_path):
    """`zoo export` goes through the same check before anything is written."""
    from zoo.errors import ZooError
    from zoo.exporting import pipeline

    model = _build("video_cnn")
    with pytest.raises(ZooError, match=r"--format litert: LiteRT cannot convert model video_cnn"):
        pipeline.export_and_check(
            model, None, [("litert", "none")], lambda name: tmp_path / name, split="test"
        )
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- slow: the matrix
# Quantised artifacts are checked by test accuracy in a run; these untrained models have
# near-tied classes, so here their probabilities are compared instead: max |Δ| measured
# 1.2e-2 (text_transformer int8), the rest below 4e-3.
QUANTISED_TOLERANCE = 0.05
_ARTIFACTS: dict[str, dict[str, dict[str, object]]] = {}


def _export_all(model, x, folder: Path, items=ITEMS) -> dict[str, dict[str, object]]:
    """Each format and variant of `items` for `model` (inputs like `x`): the refusal
    found, and the artifact written (each format's variants in one `write_variants` call,
    as the trainer writes them) and reloaded in a fresh process (zoo.exporting.verify) as
    the trainer checks its exports, or the error that stopped it."""
    from zoo.data.bundle import DataInfo
    from zoo.errors import ZooError
    from zoo.evaluation.scoring import predictor
    from zoo.exporting import pipeline, verify
    from zoo.exporting.formats import Context

    dtype = "string" if x.dtype == object else x.dtype.name
    info = DataInfo("x", tuple(model.input_shape[1:]), dtype, num_classes=3)
    ctx = Context(info, lambda: x)
    expected = predictor(model)(x)
    out: dict[str, dict[str, object]] = {}
    jobs = []
    written: dict[tuple[str, str | None], Path | Exception] = {}
    for name, group in pipeline.by_format(items):  # As the trainer writes: one call each.
        fmt = FORMATS[name]
        targets = [(variant, folder / fmt.target(variant)) for _, variant in group]
        outcomes = fmt.write_variants(model, targets, ctx)
        written.update({(name, variant): outcomes[variant] for _, variant in group})
    for item in items:
        fmt, kind = FORMATS[item[0]], _kind(item)
        out[kind] = {"blockers": fmt.blockers([model], item[1])}
        path = written[item]
        if isinstance(path, Exception):
            assert isinstance(path, ZooError), path  # An OSError is the test's own fault.
            out[kind]["error"] = str(path)
            continue
        # Quantised (tolerance None): scored against the float model's own answers.
        job = verify.Job(kind, path, x, expected, fmt.tolerance(item[1]), expected.argmax(-1))
        if not out[kind]["blockers"]:
            jobs.append(job)
            continue
        try:  # Refused, yet written: then it must fail its check (alone: it may crash it).
            record = verify.run([job])[kind]
            out[kind]["error"] = None if record["ok"] else f"check failed: {record}"
        except ZooError as exc:
            out[kind]["error"] = str(exc)
    for kind, record in (verify.run(jobs) if jobs else {}).items():
        out[kind]["check"] = record
    return out


def _exported_or_refused(label: str, item, result: dict[str, object], declared: str | None):
    """The bar: refused (by the layer check, and by the builder's declaration if any)
    and really failing for the reason given; or exported and matching the model."""
    fmt, kind = FORMATS[item[0]], _kind(item)
    if result["blockers"] or declared:
        assert result["blockers"], f"{label} declares {item[0]} impossible; the check must agree"
        assert result.get("error"), f"{label} converts to {kind}: the refusal over-reaches"
        # For a reason it names: the op (`tf.MaxPool3D` -> "maxpool3d"), or a layer it
        # names or its class. A converter stops at its first failure, so when several
        # rules fire, one of them is enough.
        said = str(result["error"]).lower().replace(" ", "")
        evidence = {
            word.lower().replace(" ", "")
            for blocker in result["blockers"]
            for word in (
                blocker.rule.op.split(".")[-1].split()[0],
                *blocker.layers,
                *blocker.classes,
            )
        }
        assert any(word in said for word in evidence), (evidence, result["error"])
        return
    assert "error" not in result, f"{label} → {kind} fails unrefused: {result['error']}"
    check = result["check"]
    assert check["fresh_process"], (label, kind, check)
    if fmt.tolerance(item[1]) is not None:  # Float: elementwise, as the trainer checks.
        assert check["ok"], (label, kind, check["max_abs_difference"])
    else:  # Quantised: checked by accuracy in a run; here, close to the float model.
        assert check["max_abs_difference"] <= QUANTISED_TOLERANCE, (label, kind, check)


@pytest.mark.slow  # A conversion each, LiteRT's in a child process: minutes per builder.
@pytest.mark.parametrize("item", ITEMS, ids=_kind)
@pytest.mark.parametrize("name", list_models())
def test_every_builder_exports_to_every_format_or_is_refused(name, item, tmp_path_factory):
    if name not in _ARTIFACTS:
        model = _build(name)
        x, _ = _batch(name, model, n=16)
        x = x.astype("int64" if SMALL[name].inputs == "tokens" else "float32")
        _ARTIFACTS[name] = _export_all(model, x, tmp_path_factory.mktemp(name))
    declared = get_model_entry(name).cannot_export.get(item[0])
    _exported_or_refused(name, item, _ARTIFACTS[name][_kind(item)], declared)


@pytest.mark.slow  # ImageNet-size families at 32×32: minutes each.
@pytest.mark.parametrize("architecture", ["ResNet50V2", "EfficientNetV2B0", "ConvNeXtTiny"])
def test_keras_applications_families_export_or_are_refused(architecture, tmp_path):
    """What the architecture parameter decides, only the layer check can see: ConvNeXt
    (exact GELU, grouped convolutions) and EfficientNetV2 (a Normalization layer) are
    refused for ONNX once built; ResNet50V2 exports (its BatchNormalization behind the
    Resizing layer in inference mode); all three convert to LiteRT."""
    from zoo import build_model

    model = build_model(
        "keras_applications",
        architecture=architecture,
        input_shape=(28, 28, 1),
        image_size=(32, 32),
        num_classes=3,
    )
    x = np.random.default_rng(0).uniform(0, 255, (8, 28, 28, 1)).astype("float32")
    items = [("onnx", None), ("litert", "none")]
    results = _export_all(model, x, tmp_path, items)
    for item in items:
        _exported_or_refused(architecture, item, results[_kind(item)], None)
    assert bool(results["onnx"]["blockers"]) == (architecture != "ResNet50V2")


@pytest.mark.slow  # Four conversions of a small R(2+1)D with its clip preprocessing.
@pytest.mark.parametrize("resize", [(8, 8), None], ids=["resize", "no_resize"])
def test_clip_preprocessing_exports_or_is_refused(resize, tmp_path):
    """The data's preprocessor is exported in front of the model, so the layer check
    reads it too: an antialiased resize is refused for ONNX and LiteRT (and really
    fails), frame sampling alone converts."""
    from zoo import build_model
    from zoo.data.bundle import DataInfo
    from zoo.exporting.writers import with_preprocessor
    from zoo.models.layers import VideoPreprocess

    shape = (4, 8, 8, 1) if resize else (4, 12, 12, 1)
    inner = build_model("video_r2plus1d", input_shape=shape, num_classes=3, filters=(4,))
    info = DataInfo("clip", (6, 12, 12, 1), "uint8", num_classes=3)
    model = with_preprocessor(inner, VideoPreprocess(frames=4, resize=resize), info)
    x = np.random.default_rng(0).integers(0, 255, (8, 6, 12, 12, 1)).astype(np.uint8)
    items = [("onnx", None), ("litert", "none")]
    results = _export_all(model, x, tmp_path, items)
    for item in items:
        _exported_or_refused(
            f"video_r2plus1d behind resize={resize}", item, results[_kind(item)], None
        )
        assert bool(results[_kind(item)]["blockers"]) == (resize is not None)


@pytest.mark.slow  # Every format and variant of one small CNN: about a minute.
def test_test_time_views_export_to_every_format(tmp_path):
    """data.image.test_time puts zoo's Flip and Shift layers and an Average into the
    exported model, behind the image preprocessor: every format converts them and matches."""
    from zoo import build_model
    from zoo.config.schema import ImageOptions, TestTimeViews
    from zoo.data.bundle import DataInfo
    from zoo.data.preprocessing.image import preprocessor
    from zoo.exporting.writers import with_preprocessor

    inner = build_model("cnn", input_shape=(12, 12, 3), num_classes=3, filters=(4,))
    info = DataInfo("image", (12, 12, 3), "uint8", num_classes=3)
    rescale = preprocessor(ImageOptions(rescale=1 / 255), (12, 12, 3), "uint8", "image")
    views = TestTimeViews(flip="horizontal_and_vertical", shift=1)
    model = with_preprocessor(inner, rescale, info, views)
    x = np.random.default_rng(0).integers(0, 255, (8, 12, 12, 3)).astype(np.uint8)
    results = _export_all(model, x, tmp_path)
    for item in ITEMS:
        _exported_or_refused("cnn with test-time flips", item, results[_kind(item)], None)


@pytest.mark.slow  # One LiteRT conversion, in a child process.
def test_raw_text_is_refused_for_litert_and_really_fails(tmp_path):
    import tensorflow as tf

    from zoo import build_model
    from zoo.config.schema import TextOptions
    from zoo.data.bundle import DataInfo
    from zoo.data.preprocessing import text
    from zoo.exporting.writers import with_preprocessor

    reviews = tf.data.Dataset.from_tensor_slices(["good fine film", "bad awful film"] * 4)
    options = TextOptions(max_tokens=40, output_mode="multi_hot")
    vectoriser = text.build(options, reviews, presampled=True)
    size = len(vectoriser.get_layer("vectorize").get_vocabulary())
    inner = build_model("text_bow", vocabulary_size=size, num_classes=2)
    info = DataInfo("text", (), "string", num_classes=2)
    model = with_preprocessor(inner, vectoriser, info)
    x = np.array([b"good film", b"awful", b"fine fine", b"bad"], dtype=object)
    results = _export_all(model, x, tmp_path, [("litert", "none")])
    _exported_or_refused("text_bow on raw text", ("litert", "none"), results["litert"], None)
    assert results["litert"]["blockers"]


def test_the_matrix_covers_every_format_and_variant():
    assert {name for name, _ in ITEMS} == set(FORMATS)
    assert [_kind(i) for i in ITEMS if i[0] == "litert"] == [
        "litert",
        "litert_float16",
        "litert_dynamic_int8",
        "litert_int8",
    ]
