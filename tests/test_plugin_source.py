"""A data source registered from one file outside zoo/ (tests/plugin_source.py) trains
like a built-in one: its fields are validated by the recipe schema, the rules know its
input kind, and the trainer loads it through the registry. No zoo code names it."""

from __future__ import annotations

import pytest

import tests.plugin_source  # noqa: F401  (registers `source: xor`)
import zoo
from zoo.config.loading import RecipeError

RECIPE = """\
name: xor
seed: 3
model: {name: mlp, params: {hidden_units: [16], dropout: 0.0, rescale: null}}
data: {source: xor, examples: 512, noise: 0.05}
training:
  batch_size: 32
  epochs: 8
  optimizer: {name: adam, learning_rate: 0.03}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
evaluation: {splits: [test]}
export: {keras: true, saved_model: false}
"""


def test_a_plugin_source_trains_a_recipe_that_names_it(tmp_path):
    recipe = tmp_path / "xor.yaml"
    recipe.write_text(RECIPE)
    run = zoo.train(recipe, output_dir=tmp_path / "run", verbose=0)
    assert run.metrics["test"]["accuracy"] > 0.8  # XOR: chance is 0.5, a line cannot do it.
    assert (run.run_dir / "model.keras").is_file()
    assert "xor" in (run.run_dir / "model_card.md").read_text()


def test_a_plugin_sources_fields_are_validated_like_built_in_ones(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(RECIPE.replace("noise: 0.05", "noise: 0.05, nois: 1"))
    with pytest.raises(RecipeError, match="nois"):
        zoo.load_recipe(recipe)
    recipe.write_text(RECIPE.replace("data: {source: xor,", "data: {source: xorr,"))
    with pytest.raises(RecipeError, match="xor"):
        zoo.load_recipe(recipe)


def test_rules_know_a_plugin_sources_input_kind(tmp_path):
    recipe = tmp_path / "text.yaml"
    recipe.write_text(RECIPE.replace("noise: 0.05}", "noise: 0.05, text: {max_tokens: 100}}"))
    with pytest.raises(RecipeError, match=r"data\.text"):
        zoo.load_recipe(recipe)
