"""Recipe loading: one test per class of error, `extends`, `--set`, and the shipped files."""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zoo import RecipeError, load_recipe
from zoo.config.loading import to_yaml, validate

REPO = Path(__file__).resolve().parents[1]
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))
RUNNABLE = [p for p in RECIPES if not p.stem.endswith("_base")]

GOOD = """
model: {name: mnist_cnn}
data: {name: mnist}
"""


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str, overrides=()) -> list:
    with pytest.raises(RecipeError) as err:
        load_recipe(write(tmp_path, text), overrides)
    return err.value.problems


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_shipped_recipes_validate(path):
    recipe = load_recipe(path)
    assert recipe.name == path.stem
    assert load_recipe(path).model_dump() == recipe.model_dump()


def test_minimal_recipe_gets_defaults(tmp_path):
    recipe = load_recipe(write(tmp_path, GOOD))
    assert recipe.name == "r"
    assert recipe.training.optimizer.name == "adam"
    assert recipe.training.loss.name == "sparse_categorical_crossentropy"
    assert [m.name for m in recipe.training.metrics] == ["accuracy"]
    assert recipe.distribution.strategy == "auto"


def test_resolved_recipe_round_trips_through_yaml(tmp_path):
    recipe = load_recipe(REPO / "recipes" / "mnist_cnn.yaml")
    again = load_recipe(write(tmp_path, to_yaml(recipe), "mnist_cnn.yaml"))
    assert again == recipe


# ---------------------------------------------------------------- one per error class
def test_unknown_key_names_path_line_and_suggestion(tmp_path):
    (p,) = problems(tmp_path, GOOD + "training:\n  epohcs: 3\n")
    assert p.path == "training.epohcs"
    assert p.origin.endswith("r.yaml:5")
    assert "Did you mean 'epochs'" in p.message
    assert "Valid keys here:" in p.message


def test_unknown_top_level_section(tmp_path):
    (p,) = problems(tmp_path, GOOD + "trainig: {}\n")
    assert p.path == "trainig" and "Did you mean 'training'" in p.message


def test_wrong_type(tmp_path):
    (p,) = problems(tmp_path, GOOD + "training: {epochs: five}\n")
    assert p.path == "training.epochs"
    assert "valid integer" in p.message and "'five'" in p.message


def test_bad_value(tmp_path):
    (p,) = problems(tmp_path, GOOD + "training: {batch_size: 0}\n")
    assert p.path == "training.batch_size" and "greater than 0" in p.message


def test_missing_required_field(tmp_path):
    (p,) = problems(tmp_path, "model: {name: mlp}\n")
    assert p.path == "data" and "required" in p.message


def test_unknown_model_name(tmp_path):
    (p,) = problems(tmp_path, GOOD.replace("mnist_cnn", "mnist_cn"))
    assert p.path == "model.name" and "Did you mean 'mnist_cnn'" in p.message


def test_unknown_model_parameter_and_bad_parameter_value(tmp_path):
    found = problems(
        tmp_path,
        GOOD.replace("{name: mnist_cnn}", "{name: mlp, params: {hiden_units: [3], dropout: 2}}"),
    )
    by_path = {p.path: p.message for p in found}
    assert "Did you mean 'hidden_units'" in by_path["model.params.hiden_units"]
    assert "less than 1" in by_path["model.params.dropout"]


def test_unknown_optimizer(tmp_path):
    (p,) = problems(tmp_path, GOOD + "training: {optimizer: {name: adamm}}\n")
    assert p.path == "training.optimizer"
    assert "unknown optimizer 'adamm'" in p.message and "Did you mean 'adam'" in p.message


def test_optimizer_option_of_another_optimizer(tmp_path):
    (p,) = problems(tmp_path, GOOD + "training: {optimizer: {name: adam, momentum: 0.9}}\n")
    assert p.path == "training.optimizer.momentum" and "unknown key" in p.message


def test_unknown_schedule(tmp_path):
    (p,) = problems(
        tmp_path,
        GOOD
        + textwrap.dedent("""\
        training:
          optimizer: {name: sgd, learning_rate: {schedule: cosine, initial_learning_rate: 0.1}}
        """),
    )
    assert p.path == "training.optimizer.learning_rate.schedule"
    assert "Did you mean 'cosine_decay'" in p.message


def test_unknown_loss(tmp_path):
    (p,) = problems(tmp_path, GOOD + "training: {loss: categorical_crossentropi}\n")
    assert p.path == "training.loss.name" or p.path == "training.loss"
    assert "Did you mean 'categorical_crossentropy'" in p.message


def test_loss_option_that_does_not_apply(tmp_path):
    (p,) = problems(tmp_path, GOOD + "training:\n  loss: {name: mse, from_logits: true}\n")
    assert "takes no from_logits" in p.message


def test_unknown_metric(tmp_path):
    (p,) = problems(tmp_path, GOOD + "training: {metrics: [accuracy, acuracy]}\n")
    assert p.path == "training.metrics[1]" or p.path.startswith("training.metrics[1]")
    assert "Did you mean 'accuracy'" in p.message


def test_bad_literal_choice(tmp_path):
    (p,) = problems(tmp_path, GOOD + "distribution: {strategy: mirored}\n")
    assert p.path == "distribution.strategy" and "Did you mean 'mirrored'" in p.message


def test_invalid_yaml_names_line(tmp_path):
    (p,) = problems(tmp_path, "model: {name: mlp\ndata: [\n")
    assert "not valid YAML" in p.message and ":" in p.origin


def test_not_a_mapping(tmp_path):
    (p,) = problems(tmp_path, "- just\n- a list\n")
    assert "must be a mapping" in p.message


def test_missing_file(tmp_path):
    with pytest.raises(RecipeError, match="file not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_yaml_tags_that_would_run_code_are_refused(tmp_path):
    (p,) = problems(tmp_path, "model: !!python/object/apply:os.system ['echo hi']\n")
    assert "not valid YAML" in p.message


def test_all_problems_reported_at_once_with_header(tmp_path):
    path = write(
        tmp_path,
        """
        model: {name: mnist_cn}
        data: {name: mnist, splits: {valdation: x}}
        training: {epochs: 0, optimizr: sgd}
        """,
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    text = str(err.value)
    assert text.startswith(f"Recipe {path} has 4 problems:")
    for key in ("model.name", "data.splits.valdation", "training.epochs", "training.optimizr"):
        assert key in text


# -------------------------------------------------------------------- extends and --set
def test_extends_merges_mappings_and_child_wins(tmp_path):
    write(
        tmp_path,
        """
        model: {name: mlp, params: {hidden_units: [8], dropout: 0.1}}
        data: {name: mnist}
        training: {epochs: 3, metrics: [accuracy, mse]}
        """,
        "base.yaml",
    )
    recipe = load_recipe(
        write(
            tmp_path,
            """
        extends: base.yaml
        model: {params: {dropout: 0.3}}
        training: {metrics: [accuracy]}
        """,
        )
    )
    assert recipe.model.params == {"hidden_units": [8], "dropout": 0.3}
    assert recipe.training.epochs == 3
    assert [m.name for m in recipe.training.metrics] == ["accuracy"]  # lists are replaced


def test_a_child_naming_another_model_does_not_inherit_its_parameters(tmp_path):
    """model.params belong to the builder named beside them: a child switching builder
    starts from the new builder's defaults plus its own params; one keeping the builder
    (named again or not) merges as usual."""
    write(
        tmp_path,
        """
        model: {name: resnet, params: {depth: 8, width: 4}}
        data: {name: mnist}
        """,
        "base.yaml",
    )
    other = load_recipe(
        write(tmp_path, "extends: base.yaml\nmodel: {name: resnet9, params: {l2: 0.001}}\n")
    )
    assert (other.model.name, other.model.params) == ("resnet9", {"l2": 0.001})
    again = load_recipe(write(tmp_path, "extends: base.yaml\nmodel: {name: resnet, params: {}}\n"))
    assert again.model.params == {"depth": 8, "width": 4}
    bare = load_recipe(write(tmp_path, "extends: base.yaml\nmodel: {name: cnn}\n"))
    assert bare.model.params == {}


def test_extends_errors_point_at_the_file_that_set_the_value(tmp_path):
    write(tmp_path, GOOD + "training: {epochs: -1}\n", "base.yaml")
    (p,) = problems(tmp_path, "extends: base.yaml\n")
    assert p.origin.endswith("base.yaml:4")


def test_extends_missing_file_and_cycle(tmp_path):
    (p,) = problems(tmp_path, "extends: nothere.yaml\n")
    assert p.path == "extends" and "does not exist" in p.message
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")


def test_relative_paths_are_taken_from_the_recipe_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    text = GOOD.replace("{name: mnist}", "{name: mnist, manual_dir: raw}")
    recipe = load_recipe(write(tmp_path / "sub", text))
    assert recipe.data.manual_dir == str((tmp_path / "sub" / "raw").resolve())


def test_set_overrides_with_typed_values(tmp_path):
    recipe = load_recipe(
        write(tmp_path, GOOD),
        [
            "training.epochs=7",
            "training.optimizer={name: sgd, momentum: 0.9}",
            "model.params.num_classes=10",
            "data.splits.train=train[:10%]",
            "seed=1",
        ],
    )
    assert recipe.training.epochs == 7
    assert recipe.training.optimizer.name == "sgd" and recipe.training.optimizer.momentum == 0.9
    assert recipe.model.params == {"num_classes": 10}
    assert recipe.data.splits.train == "train[:10%]"
    assert recipe.seed == 1


def test_set_can_index_lists(tmp_path):
    recipe = load_recipe(
        write(tmp_path, GOOD + "training: {loss: mse, metrics: [mse, rmse]}\n"),
        ["training.metrics.1=mae"],
    )
    assert [m.name for m in recipe.training.metrics] == ["mse", "mae"]


def test_set_errors_name_the_override(tmp_path):
    (p,) = problems(tmp_path, GOOD, ["training.epochs=zero"])
    assert p.origin == "--set training.epochs=zero" and p.path == "training.epochs"
    with pytest.raises(RecipeError, match="KEY=VALUE"):
        load_recipe(write(tmp_path, GOOD), ["training.epochs"])
    (p,) = problems(tmp_path, GOOD, ["training.epoch=2"])
    assert "Did you mean 'epochs'" in p.message


def test_validate_accepts_a_mapping():
    recipe = validate({"name": "x", "model": {"name": "mlp"}, "data": {"name": "mnist"}})
    assert recipe.model.name == "mlp"


def test_validation_never_imports_tensorflow():
    code = (
        "import sys, zoo; zoo.load_recipe('recipes/mnist_cnn.yaml', ['training.epochs=1']);"
        "zoo.list_models(); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


# ------------------------------------------------- YAML limits and regular files only
def _bomb(levels: int) -> str:
    """The classic "billion laughs": each level names the previous one nine times."""
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        name, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def refusal(path) -> str:
    """The one problem loading `path` reports, as text."""
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert len(err.value.problems) == 1
    return str(err.value.problems[0])


@pytest.mark.parametrize("levels", [6, 9, 12])
def test_alias_bomb_is_refused_before_it_expands(tmp_path, levels):
    text = _bomb(levels)
    assert len(text) < 700
    assert "alias" in refusal(write(tmp_path, text))


def test_aliases_within_the_budget_still_work(tmp_path):
    text = GOOD + "description: &d hello\nx: &m {name: adam}\n"
    text = text.replace("x: &m {name: adam}\n", "training: {optimizer: &o {name: adam}}\n")
    recipe = load_recipe(write(tmp_path, text))
    assert recipe.description == "hello"


@pytest.mark.parametrize(
    "text",
    [
        "model: " + "[" * 400 + "]" * 400 + "\n",
        "model: " + "{a: " * 400 + "1" + "}" * 400 + "\n",
        "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "x: 1\n",
        "a: &a " + "[" * 30 + "]" * 30 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n",
    ],
    ids=["flow-lists", "flow-maps", "block-maps", "alias-adds-depth"],
)
def test_deep_nesting_is_refused_without_recursion_error(tmp_path, text):
    assert "nested" in refusal(write(tmp_path, text))


def test_deep_set_value_and_deep_set_key_are_refused(tmp_path):
    path = write(tmp_path, GOOD)
    for override in ("training.epochs=" + "[" * 500 + "]" * 500, ".".join(["a"] * 400) + "=1"):
        with pytest.raises(RecipeError) as err:
            load_recipe(path, [override])
        assert "nested more than" in str(err.value)


def test_long_extends_chain_is_refused(tmp_path):
    for i in range(400):
        write(tmp_path, f"extends: r{i + 1}.yaml\n", f"r{i}.yaml")
    write(tmp_path, GOOD, "r400.yaml")
    assert "chain is longer" in refusal(tmp_path / "r0.yaml")


def test_short_extends_chain_still_merges(tmp_path):
    write(tmp_path, GOOD, "base.yaml")
    write(tmp_path, "extends: base.yaml\nseed: 1\n", "mid.yaml")
    write(tmp_path, "extends: mid.yaml\nseed: 2\n", "top.yaml")
    recipe = load_recipe(tmp_path / "top.yaml")
    assert recipe.seed == 2 and recipe.model.name == "mnist_cnn"


def test_extends_cycle_is_refused(tmp_path):
    write(tmp_path, GOOD + "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    assert "cycle" in refusal(tmp_path / "a.yaml")


def test_fifo_recipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "r.yaml"
    os.mkfifo(fifo)
    assert "FIFO" in refusal(fifo)


def test_fifo_extends_target_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "base.yaml")
    message = refusal(write(tmp_path, "extends: base.yaml\n"))
    assert "FIFO" in message and "base.yaml" in message


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused(special):
    assert "character device" in refusal(Path(special))


def test_directory_and_socket_are_refused(tmp_path):
    assert "directory" in refusal(tmp_path)
    sock_path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        assert "socket" in refusal(sock_path)


def test_oversized_recipe_is_refused(tmp_path):
    path = write(tmp_path, GOOD + "description: '" + "x" * (2 * 1024 * 1024) + "'\n")
    assert "limited to" in refusal(path)


def test_symlink_to_a_recipe_works_and_dangling_link_is_refused(tmp_path):
    target = write(tmp_path, GOOD, "real.yaml")
    (tmp_path / "link.yaml").symlink_to(target)
    assert load_recipe(tmp_path / "link.yaml").model.name == "mnist_cnn"
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    assert "not found" in refusal(tmp_path / "dangling.yaml")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"model: {name: mnist_cnn}\ndata: {name: \xff\xfe}\n", "not UTF-8"),
        (b"model: {name: mnist_cnn\x00}\n", "NUL byte"),
        (b"seed: 2024-13-45\n", "quote it"),
        (b"- a\n- b\n", "mapping of sections"),
        (b"model: [unclosed\n", "not valid YAML"),
        (b"x: !!python/object:os.system {}\n", "not valid YAML"),
    ],
)
def test_unreadable_text_gets_one_clear_problem(tmp_path, data, expected):
    path = tmp_path / "r.yaml"
    path.write_bytes(data)
    message = refusal(path)
    assert expected in message and str(path) in message


def test_yaml_limits_check_is_linear_for_a_huge_bomb():
    from zoo.config import yaml_limits

    with pytest.raises(yaml_limits.LimitError) as err:
        yaml_limits.check_structure(_bomb(30))
    assert err.value.line is not None
