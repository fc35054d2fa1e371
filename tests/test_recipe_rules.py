"""Recipe meaning at load time: value ranges, safe names, key patterns, cross-field rules
and the monitor resolver. All without TensorFlow; each case is one `--set` on a good recipe."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zoo import RecipeError, load_recipe
from zoo.config.monitors import Monitor, resolve_monitors

REPO = Path(__file__).resolve().parents[1]

BASE = """
model: {name: mnist_cnn}
data: {name: mnist, splits: {train: "train[:90%]", validation: "train[90%:]", test: test}}
"""


def recipe_file(tmp_path: Path, extra: str = "") -> Path:
    """BASE then `extra`, where a top-level section `extra` gives replaces BASE's (a recipe
    may not give a key twice). BASE's line is blanked, so line numbers stay put."""
    extra = textwrap.dedent(extra)
    given = {line.split(":")[0] for line in extra.splitlines() if line[:1].isalpha()}
    base = [
        "" if line.split(":")[0] in given else line for line in textwrap.dedent(BASE).split("\n")
    ]
    path = tmp_path / "r.yaml"
    path.write_text("\n".join(base) + extra)
    return path


def problems(tmp_path: Path, *overrides: str, extra: str = "") -> list:
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe_file(tmp_path, extra), overrides)
    return err.value.problems


def only(tmp_path: Path, *overrides: str, extra: str = ""):
    (p,) = problems(tmp_path, *overrides, extra=extra)
    return p


# ---------------------------------------------------------------------- value ranges
@pytest.mark.parametrize(
    ("override", "path"),
    [
        ("seed=-1", "seed"),
        ("seed=4294967296", "seed"),
        ("training.epochs=0", "training.epochs"),
        ("training.batch_size=-3", "training.batch_size"),
        ("training.batch_size=99999999999", "training.batch_size"),
        ("training.steps_per_epoch=0", "training.steps_per_epoch"),
        ("training.optimizer={name: adam, learning_rate: 0}", "training.optimizer.learning_rate"),
        (
            "training.optimizer={name: adam, learning_rate: .inf}",
            "training.optimizer.learning_rate",
        ),
        (
            "training.optimizer={name: adam, learning_rate: .nan}",
            "training.optimizer.learning_rate",
        ),
        ("training.optimizer={name: adam, beta_1: 1.5}", "training.optimizer.beta_1"),
        ("training.callbacks.early_stopping={patience: -1}", "training.callbacks.early_stopping"),
        ("data.shuffle_buffer=-1", "data.shuffle_buffer"),
        ("data.image={resize: [100000, 28]}", "data.image.resize[0]"),
        ("data.image={rescale: .inf}", "data.image.rescale"),
        ("distribution.cpu_devices=0", "distribution.cpu_devices"),
        ("distribution.startup_timeout=0", "distribution.startup_timeout"),
        ("distribution.startup_timeout=-5", "distribution.startup_timeout"),
    ],
)
def test_out_of_range_values_are_refused(tmp_path, override, path):
    p = only(tmp_path, override)
    assert p.path.startswith(path)
    assert p.origin == f"--set {override}"


def test_seed_edges_are_accepted(tmp_path):
    for seed in (0, 2**32 - 1):
        assert load_recipe(recipe_file(tmp_path), [f"seed={seed}"]).seed == seed


@pytest.mark.parametrize(
    "name",
    ["../../x", "/abs/x", "a/b", ".hidden", "a..b", "x" * 101, "", "-x", "a b", "ä"],
)
def test_unsafe_run_names_are_refused(tmp_path, name):
    p = only(tmp_path, extra=f"name: {name!r}\n")
    assert p.path == "name" and "cannot name a run" in p.message


def test_good_names_pass(tmp_path):
    for name in ("mnist_cnn", "a", "v1.2-final", "X" * 100):
        assert load_recipe(recipe_file(tmp_path, f"name: {name}\n")).name == name


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ('name: "a\\0b"\n', "name"),
        ('description: "x\\0"\n', "description"),
        ('training: {callbacks: {checkpoint: {monitor: "val_loss\\0"}}}\n', "training"),
        ('description: "' + "d" * 5000 + '"\n', "description"),
    ],
)
def test_nul_bytes_and_huge_strings_are_refused_everywhere(tmp_path, extra, path):
    assert any(p.path.startswith(path) for p in problems(tmp_path, extra=extra))


NPZ = """
model: {name: mnist_cnn}
data: {source: npz, path: x.npz}
"""


@pytest.mark.parametrize(
    "key",
    ["{split.nope}", "{split[0]}", "{split:>10}", "{split!r}", "{other}", "{}", "{0}", "{", "}x"],
)
def test_key_patterns_allow_only_a_bare_split(tmp_path, key):
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent(NPZ).replace("x.npz}", f"x.npz, images_key: {key!r}}}"))
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    (p,) = err.value.problems
    assert p.path == "data.images_key" and "{split}" in p.message


def test_key_pattern_with_literal_braces_is_fine(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent(NPZ).replace("x.npz}", "x.npz, labels_key: '{{a}}{split}'}"))
    assert load_recipe(path).data.labels_key == "{{a}}{split}"


def test_key_pattern_is_caught_by_dry_run_without_traceback(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent(NPZ).replace("x.npz}", "x.npz, images_key: '{split.nope}'}"))
    out = subprocess.run(
        [sys.executable, "-m", "zoo.train", str(path), "--dry-run"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "data.images_key" in out.stderr
    assert out.stderr.count("error:") == 1


# ------------------------------------------------------------------ cross-field rules
@pytest.mark.parametrize(
    ("overrides", "path", "words"),
    [
        (["evaluation.splits=[]"], "evaluation.splits", "empty"),
        (["data.splits.test=null"], "evaluation.splits[0]", "no such split"),
        (
            ["data.splits.validation=null", "evaluation.splits=[validation]"],
            "evaluation.splits[0]",
            "no such split",
        ),
        (["evaluation.splits=[test, test]"], "evaluation.splits[1]", "twice"),
        (["training.loss=mse"], "training.metrics[0]", "cannot apply"),
        (["training.loss=mse", "training.metrics=[mse, f1]"], "training.metrics[1]", "cannot"),
        (["training.metrics=[mse]"], "training.metrics[0]", "cannot apply"),
        (["evaluation.metrics=[top_k_accuracy]", "training.loss=mae"], "evaluation", "cannot"),
        (["training.loss=categorical_crossentropy", "evaluation.metrics=[f1]"], "eval", "cannot"),
        (["training.metrics=[accuracy, accuracy]"], "training.metrics[1]", "repeats"),
        (["training.callbacks.checkpoint.monitor=val_acc"], "checkpoint.monitor", "accuracy"),
        (["training.callbacks.early_stopping={monitor: val_f1}"], "early_stopping", "not logged"),
        (
            ["training.callbacks.checkpoint={monitor: val_loss, mode: sideways}"],
            "training.callbacks.checkpoint.mode",
            "sideways",
        ),
        (["model.params.num_classes=3", "training.loss=binary_crossentropy"], "training", "2"),
        (
            ["model.params.num_classes=4", "training.metrics=[{name: top_k_accuracy, k: 5}]"],
            "training.metrics[0].k",
            "always be 1",
        ),
        (
            ["data.splits.validation=null", "training.validation_steps=3"],
            "training.validation_steps",
            "no validation",
        ),
        (
            [
                "training.optimizer={name: sgd, learning_rate: {schedule: exponential_decay, "
                "initial_learning_rate: 0.1, decay_steps: 10, decay_rate: 0.9}}",
                "training.callbacks.reduce_lr_on_plateau={}",
            ],
            "training.callbacks.reduce_lr_on_plateau",
            "scheduled",
        ),
        (
            ["training.callbacks.reduce_lr_on_plateau={min_lr: 1}"],
            "training.callbacks.reduce_lr_on_plateau.min_lr",
            "never act",
        ),
        (
            [
                "distribution.strategy=mirrored",
                "distribution.cpu_devices=4",
                "training.batch_size=2",
            ],
            "training.batch_size",
            "replicas",
        ),
        (["distribution.devices=['/cpu:0']"], "distribution.devices", "one_device"),
        (
            ["training.optimizer={name: adam, clipnorm: 1, global_clipnorm: 1}"],
            "training.optimizer",
            "not both",
        ),
    ],
)
def test_cross_field_problems_name_the_field(tmp_path, overrides, path, words):
    found = problems(tmp_path, *overrides)
    assert any(path in p.path and words in p.message for p in found), found


def test_brier_style_scores_are_fine_in_final_evaluation(tmp_path):
    recipe = load_recipe(recipe_file(tmp_path), ["evaluation.metrics=[accuracy, mse, rmse]"])
    assert [m.name for m in recipe.evaluation.metrics] == ["accuracy", "mse", "rmse"]


def test_rule_problems_carry_the_line_of_the_field(tmp_path):
    p = only(tmp_path, extra="evaluation:\n  splits: []\n")
    assert p.origin.endswith("r.yaml:5")


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("data: {source: csv, path: d.csv, label_column: y, feature_columns: [y]}", "data"),
        ("data: {source: csv, path: d.csv, label_column: y, feature_columns: []}", "data"),
        (
            "data: {source: csv, path: d.csv, label_column: y, text_column: t, delimiter: '\"'}",
            "data",
        ),
        (
            "data: {source: csv, path: d.csv, label_column: y, text_column: t,"
            " validation_fraction: 0.5, test_fraction: 0.5}",
            "data.test_fraction",
        ),
        (
            "data: {source: csv, path: d.csv, label_column: y, feature_columns: [a], text: {}}",
            "data.text",
        ),
        ("data: {source: directory, path: d, kind: text, image: {rescale: 0.5}}", "data.image"),
        ("data: {source: directory, path: d, class_names: [a, a]}", "data.class_names"),
        ("data: {source: directory, path: d, class_names: ['..', b]}", "data.class_names"),
        ("data: {source: directory, path: d, class_names: []}", "data.class_names"),
        ("data: {source: npz, path: x.npz, class_names: [a, '']}", "data.class_names"),
        ("data: {source: npz, path: x.npz, text: {}}", "data.text"),
        (
            "data: {source: directory, path: d, kind: image,"
            " image: {test_time: {flip: horizontal}}}",
            "data.image.test_time.flip",
        ),
        (
            "data: {source: directory, path: d, kind: image,"
            " image: {augment: {flip: horizontal}, test_time: {flip: vertical}}}",
            "data.image.test_time.flip",
        ),
        (
            "data: {source: directory, path: d, kind: image,"
            " image: {augment: {flip: vertical}, test_time: {flip: horizontal_and_vertical}}}",
            "data.image.test_time.flip",
        ),
        (
            "data: {source: directory, path: d, kind: image,"
            " image: {augment: {crop: 1}, test_time: {shift: 2}}}",
            "data.image.test_time.shift",
        ),
        (
            "data: {source: npz, path: x.npz, video: {test_time: {flip: horizontal}}}",
            "data.video.test_time.flip",
        ),
        (
            "data: {source: npz, path: x.npz,"
            " video: {augment: {flip: true}, test_time: {flip: vertical}}}",
            "data.video.test_time.flip",
        ),
        (
            "data: {source: npz, path: x.npz, video: {augment: {crop: 1}, test_time: {shift: 2}}}",
            "data.video.test_time.shift",
        ),
        (
            "data: {source: npz, path: x.npz,"
            " video: {resize: [8, 8], augment: {crop: 4}, test_time: {shift: 1}}}",
            "data.video.test_time.shift",
        ),
        (
            "data: {source: directory, path: d, kind: image,"
            " image: {resize: [8, 8], augment: {crop: 4}, test_time: {shift: 1}}}",
            "data.image.test_time.shift",
        ),
    ],
)
def test_data_rules(tmp_path, extra, path):
    file = tmp_path / "r.yaml"
    file.write_text("model: {name: mnist_cnn}\n" + extra + "\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(file)
    assert any(p.path.startswith(path) for p in err.value.problems), err.value.problems


def test_test_time_views_that_training_showed_are_accepted(tmp_path):
    file = tmp_path / "r.yaml"
    file.write_text(
        "model: {name: video_cnn}\n"
        "data: {source: npz, path: x.npz,"
        " video: {augment: {flip: true, crop: 2}, test_time: {flip: horizontal, shift: 2}}}\n"
    )
    field, views = load_recipe(file).data.test_time()
    assert field == "data.video.test_time"
    assert len(views.views()) == 6


# ------------------------------------------------------------------- monitor resolver
def test_monitors_resolve_auto_modes_from_the_table(tmp_path):
    recipe = load_recipe(
        recipe_file(tmp_path),
        [
            "training.metrics=[accuracy, f1]",
            "training.callbacks.checkpoint.monitor=val_f1",
            "training.callbacks.early_stopping={monitor: val_loss}",
            "training.callbacks.reduce_lr_on_plateau={monitor: val_accuracy}",
        ],
    )
    assert resolve_monitors(recipe) == {
        "checkpoint": Monitor("val_f1", "max"),
        "early_stopping": Monitor("val_loss", "min"),
        "reduce_lr_on_plateau": Monitor("val_accuracy", "max"),
    }


def test_explicit_modes_win(tmp_path):
    recipe = load_recipe(
        recipe_file(tmp_path),
        [
            "training.callbacks.checkpoint={monitor: val_accuracy, mode: min}",
            "training.callbacks.early_stopping={monitor: loss, mode: max}",
        ],
    )
    monitors = resolve_monitors(recipe)
    assert monitors["checkpoint"].mode == "min" and monitors["early_stopping"].mode == "max"


def test_no_validation_falls_back_for_all_three(tmp_path):
    recipe = load_recipe(
        recipe_file(tmp_path),
        [
            "data.splits.validation=null",
            "training.callbacks.early_stopping={monitor: val_accuracy}",
            "training.callbacks.reduce_lr_on_plateau={}",
        ],
    )
    assert resolve_monitors(recipe) == {
        "checkpoint": Monitor("loss", "min"),
        "early_stopping": Monitor("accuracy", "max"),
        "reduce_lr_on_plateau": Monitor("loss", "min"),
    }


def test_validation_only_score_without_validation_is_a_problem(tmp_path):
    p = only(
        tmp_path,
        "data.splits.validation=null",
        "training.metrics=[accuracy, auc]",
        "training.callbacks.checkpoint.monitor=val_auc",
    )
    assert "validation split only" in p.message


def test_top_k_monitor_uses_its_log_name(tmp_path):
    recipe = load_recipe(
        recipe_file(tmp_path),
        [
            "training.metrics=[{name: top_k_accuracy, k: 3}]",
            "training.callbacks.checkpoint.monitor=val_top_3_accuracy",
        ],
    )
    assert resolve_monitors(recipe)["checkpoint"] == Monitor("val_top_3_accuracy", "max")


def test_dry_run_shows_resolved_monitors():
    out = subprocess.run(
        [sys.executable, "-m", "zoo.train", "recipes/imdb_lstm.yaml", "--dry-run"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "#   checkpoint: val_accuracy (max)" in out.stdout
    assert "#   early_stopping: val_accuracy (max)" in out.stdout


RUNNABLE = [p for p in sorted((REPO / "recipes").glob("*.yaml")) if not p.stem.endswith("_base")]


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_shipped_recipes_pass_every_rule(path):
    assert "checkpoint" in resolve_monitors(load_recipe(path))


@pytest.mark.parametrize("export", ["export.litert={quantize: none}", "export.tflite=true"])
def test_litert_of_a_text_model_is_refused_at_load_time_not_after_training(tmp_path, export):
    """LiteRT has no string ops: a text model's conversion could only fail after training.
    (text_bow itself converts; text_rnn would also be refused for its recurrent layers.)"""
    (folder := tmp_path / "reviews" / "train" / "pos").mkdir(parents=True)
    extra = """
    model: {name: text_bow}
    data: {source: directory, path: reviews, splits: {train: train, validation: null, test: null},
           validation_fraction: 0.2}
    evaluation: {splits: [validation]}
    """
    p = only(tmp_path, export, extra=extra)
    assert p.path in ("export.litert", "export.tflite") and "export.onnx" in p.message
    assert folder.is_dir()  # The recipe is refused before any data is read.
    load_recipe(recipe_file(tmp_path, extra), ["export.onnx=true"])  # ONNX is fine.
