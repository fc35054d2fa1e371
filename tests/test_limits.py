"""Resource limits (zoo/limits.py): refused at load time, before anything is allocated,
with the limit's name, the value and the environment variable that raises it."""

import textwrap

import pytest

from zoo import limits
from zoo.cli.main import main
from zoo.config.schema import CsvData
from zoo.errors import ZooError


def _dry_run(capsys, *args: str) -> tuple[int, str]:
    code = main(["train", *args, "--dry-run"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    ("recipe", "override", "field", "env"),
    [
        (
            "mnist_mlp",
            "model.params.hidden_units=[1000000000]",
            "model.params.hidden_units",
            "ZOO_MAX_MODEL_WIDTH",
        ),
        (
            "mnist_mlp",
            "model.params.hidden_units=[60000,60000]",
            "model.params",
            "ZOO_MAX_MODEL_PARAMETERS",
        ),
        (
            "imdb_lstm",
            "data.text.sequence_length=10000000",
            "data.text.sequence_length",
            "ZOO_MAX_SEQUENCE_LENGTH",
        ),
        (
            "imdb_lstm",
            "data.text.max_tokens=100000000",
            "data.text.max_tokens",
            "ZOO_MAX_VOCABULARY",
        ),
        (
            "cifar10_cnn",
            "data.image.resize=[16384,16384]",
            "data.image.resize",
            "ZOO_MAX_IMAGE_PIXELS",
        ),
        (
            "cifar10_cnn",
            "model.params.input_shape=[8000,8000,3]",
            "model.params.input_shape",
            "ZOO_MAX_IMAGE_PIXELS",
        ),
        (
            "moving_shapes_video_cnn",
            "data.video={frames: 16, resize: [2048, 2048]}",
            "data.video",
            "ZOO_MAX_CLIP_PIXELS",
        ),
        (
            "mnist_cnn",
            "model.params.num_classes=1000000",
            "model.params.num_classes",
            "ZOO_MAX_CLASSES",
        ),
    ],
)
def test_recipe_sizes_over_a_limit_exit_2_naming_field_and_env(
    capsys, recipe, override, field, env
):
    code, err = _dry_run(capsys, recipe, "--set", override)
    assert code == 2
    assert f"{field}: " in err and env in err and "limit" in err


def test_an_environment_variable_raises_the_limit(capsys, monkeypatch):
    monkeypatch.setenv("ZOO_MAX_SEQUENCE_LENGTH", "20_000_000")
    code, _ = _dry_run(capsys, "imdb_lstm", "--set", "data.text.sequence_length=10000000")
    assert code == 0


def test_a_malformed_environment_variable_is_named(capsys, monkeypatch):
    monkeypatch.setenv("ZOO_MAX_CLASSES", "lots")
    code, err = _dry_run(capsys, "mnist_cnn")  # Read on every load, not only when needed.
    assert code == 2 and "ZOO_MAX_CLASSES='lots'" in err


def test_directory_image_size_and_class_names_are_bounded(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZOO_MAX_CLASSES", "3")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        textwrap.dedent(
            """\
            model: {name: cnn}
            data:
              source: directory
              path: .
              kind: image
              image_size: [16384, 16384]
              class_names: [a, b, c, d]
            """
        )
    )
    code, err = _dry_run(capsys, str(recipe))
    assert code == 2
    assert "data.image_size: height × width is 268,435,456 pixels" in err
    assert "data.class_names: is 4 classes, over zoo's classes limit of 3" in err


def _search_recipe(tmp_path, sampler: str, field: str) -> str:
    path = tmp_path / f"{sampler}.yaml"
    path.write_text(
        "extends: mnist_mlp\n"
        f"search:\n  sampler: {sampler}\n  trials: 2\n"
        f"  parameters:\n    {field}: {{int: [1, 1000000000]}}\n"
    )
    return str(path)


def test_a_huge_int_range_is_never_expanded(tmp_path, capsys):
    # Before: the dry run listed all 10**9 values (out of memory). Both ends are still
    # validated: a batch size of 10**9 is a valid recipe, so this one loads.
    code, _ = _dry_run(capsys, _search_recipe(tmp_path, "tpe", "training.batch_size"))
    assert code == 0
    # ...and the far end of a range over a model width is checked against the limit.
    code, err = _dry_run(capsys, _search_recipe(tmp_path, "tpe", "model.params.hidden_units.0"))
    assert code == 2 and "ZOO_MAX_MODEL_WIDTH" in err


def test_a_grid_too_big_to_enumerate_is_refused(tmp_path, capsys):
    code, err = _dry_run(capsys, _search_recipe(tmp_path, "grid", "training.batch_size"))
    assert code == 2
    assert "1,000,000,000 points" in err and "ZOO_MAX_SEARCH_GRID" in err


def test_search_workers_over_the_limit_exit_2_before_any_process(tmp_path, capsys):
    recipe = _search_recipe(tmp_path, "random", "training.batch_size")
    code = main(["search", recipe, "--workers", "1000", "--output-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and "--workers is 1,000 processes" in err and "ZOO_MAX_WORKERS" in err
    assert not (tmp_path / "s").exists()


def test_csv_with_too_many_distinct_labels_is_refused_before_training(tmp_path, monkeypatch):
    from zoo.data import load

    monkeypatch.setenv("ZOO_MAX_CLASSES", "50")
    rows = "".join(f"text {i},label{i}\n" for i in range(60))
    (tmp_path / "train.csv").write_text("review,sentiment\n" + rows)
    config = CsvData(
        source="csv",
        path=str(tmp_path / "train.csv"),
        text_column="review",
        label_column="sentiment",
    )
    with pytest.raises(limits.LimitExceeded) as err:
        load(config, batch_size=4, seed=0)
    text = str(err.value)
    assert "is 60 classes" in text and "'sentiment'" in text and "ZOO_MAX_CLASSES" in text


def test_input_file_size_is_checked_from_stat(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_MAX_INPUT_BYTES", "1000")
    small, big = tmp_path / "small.npy", tmp_path / "big.npy"
    small.write_bytes(b"x" * 1000)
    with big.open("wb") as f:  # Sparse: 2 GiB claimed, nothing written.
        f.truncate(2 * 1024**3)
    assert limits.check_input_file(small) == 1000
    with pytest.raises(ZooError) as err:
        limits.check_input_file(big)
    assert str(big) in str(err.value) and "ZOO_MAX_INPUT_BYTES" in str(err.value)


def test_every_limit_has_a_documented_default_and_env_var():
    table = limits.table()
    for limit in limits.LIMITS:
        assert limit.env.startswith("ZOO_MAX_") and limit.env in table
        assert limit.default > 0 and limit.value() == limit.default


def test_directory_with_too_many_class_folders_is_refused(tmp_path, monkeypatch):
    from zoo.config.schema import DirectoryData
    from zoo.data import load
    from zoo.errors import DataError

    monkeypatch.setenv("ZOO_MAX_CLASSES", "2")
    for name in ("a", "b", "c"):
        (tmp_path / "train" / name).mkdir(parents=True)
        (tmp_path / "train" / name / "x.txt").write_text("text")
    config = DirectoryData(source="directory", path=str(tmp_path), splits={"train": "train"})
    with pytest.raises(DataError) as err:
        load(config, batch_size=2, seed=0)
    assert "3 classes" in str(err.value) and str(tmp_path / "train") in str(err.value)
