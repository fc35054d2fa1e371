import inspect

import pytest

import zoo
from zoo import RecipeError, load_recipe
from zoo.errors import RegistryError
from zoo.models.registry import DATA_PARAMETERS, get_model_entry, list_models, register_model

BUILTIN = [
    "cnn",
    "frame_average_cnn",
    "keras_applications",
    "mlp",
    "mnist_cnn",
    "resnet",
    "resnet9",
    "text_bow",
    "text_rnn",
    "text_transformer",
    "video_cnn",
    "video_r2plus1d",
]


def test_lists_builtin_models_sorted():
    assert list_models() == BUILTIN


def test_wildcard_and_task_filters():
    assert list_models("*cnn*") == ["cnn", "frame_average_cnn", "mnist_cnn", "video_cnn"]
    assert list_models("text_*") == ["text_bow", "text_rnn", "text_transformer"]
    assert list_models("nothing*") == []
    assert list_models(task="classification") == BUILTIN


@pytest.mark.parametrize("name", BUILTIN)
def test_every_entry_has_description_task_and_keyword_only_params(name):
    entry = get_model_entry(name)
    assert entry.task == "classification"
    assert len(entry.description) > 20
    assert entry.description == inspect.getdoc(entry.builder).splitlines()[0]
    kinds = {p.kind for p in entry.parameters.values()}
    assert kinds == {inspect.Parameter.KEYWORD_ONLY}
    # Every builder builds with defaults alone: data parameters have defaults too.
    assert all(p.default is not inspect.Parameter.empty for p in entry.parameters.values())


def test_unknown_model_suggests_closest_name():
    with pytest.raises(RegistryError) as err:
        zoo.build_model("mnist_cn")
    assert "Unknown model 'mnist_cn'" in str(err.value)
    assert "Did you mean 'mnist_cnn'" in str(err.value)
    assert isinstance(err.value, KeyError)  # lookups raise what dict lookups raise


def test_unknown_parameter_suggests_closest_name():
    with pytest.raises(RegistryError) as err:
        zoo.build_model("text_rnn", cel="gru")
    assert "has no parameter 'cel'" in str(err.value)
    assert "Did you mean 'cell'" in str(err.value)


def test_wrong_parameter_value_is_reported_with_its_name():
    with pytest.raises(RegistryError) as err:
        zoo.build_model("mlp", dropout=1.5)
    assert "dropout" in str(err.value)
    assert "less than 1" in str(err.value)


def test_check_params_reports_everything_without_raising():
    problems = get_model_entry("text_rnn").check_params(
        {"units": [32, "x"], "cell": "transformer", "embeding_dim": 8}
    )
    paths = {loc for loc, _ in problems}
    assert paths == {("units", "1"), ("cell",), ("embeding_dim",)}


def test_params_are_coerced_to_annotated_types():
    assert get_model_entry("mlp").coerce_params({"hidden_units": [8, 4]}) == {
        "hidden_units": (8, 4)
    }


def test_data_parameters_are_known_to_builders():
    used = {p for name in BUILTIN for p in get_model_entry(name).parameters}
    assert set(DATA_PARAMETERS) <= used


def test_register_model_adds_and_refuses_duplicates():
    @register_model("tiny_test_model", task="regression")
    def tiny(*, width: int = 2):
        """A tiny test model that is not a real builder."""
        return width

    try:
        assert "tiny_test_model" in list_models()
        assert zoo.build_model("tiny_test_model", width=3) == 3
        assert get_model_entry("tiny_test_model").description.startswith("A tiny test model")
        with pytest.raises(ValueError, match="already registered"):
            register_model("tiny_test_model", task="regression")(lambda: None)
    finally:
        from zoo.models import registry

        registry._REGISTRY.pop("tiny_test_model")


def test_rules_across_parameters_are_checked_with_the_defaults_filled_in():
    """A builder's registered rules see the recipe's parameters over the defaults, so a
    recipe changing one of two related parameters is refused for it."""
    entry = get_model_entry("resnet")
    assert entry.check_params({"depth": 20}) == []
    ((path, message),) = entry.check_params({"depth": 21})
    assert path == ("depth",) and "depth 21 does not fit 3 stages" in message
    ((path, message),) = entry.check_params({"stages": 4})  # The default depth 20 no longer fits.
    assert "depth 20 does not fit 4 stages" in message
    # Ill-typed values are reported by type alone: the rules never see them.
    assert [p for p, _ in entry.check_params({"depth": "deep"})] == [("depth",)]


def test_a_registered_rule_refuses_at_build_and_at_recipe_load(tmp_path):
    def even_width(params):
        if params["width"] % 2:
            yield "width", f"width {params['width']} must be even"

    @register_model("tiny_rule_model", task="regression", rules=even_width)
    def tiny(*, width: int = 2):
        """A tiny test model that is not a real builder."""
        return width

    try:
        assert zoo.build_model("tiny_rule_model", width=4) == 4
        with pytest.raises(RegistryError, match="width: width 3 must be even"):
            zoo.build_model("tiny_rule_model", width=3)
        recipe = tmp_path / "r.yaml"
        recipe.write_text("model: {name: tiny_rule_model, params: {width: 5}}\n")
        with pytest.raises(RecipeError) as err:
            load_recipe(recipe)
        assert ("model.params.width", "width 5 must be even") in [
            (p.path, p.message) for p in err.value.problems
        ]
    finally:
        from zoo.models import registry

        registry._REGISTRY.pop("tiny_rule_model")
