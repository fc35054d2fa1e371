"""Sparse bags of n-grams (`data.text.sparse`): the vectoriser hands `text_bow` only the
n-grams a text holds, and everything downstream (the model, training, export, the
load-time rules) gives what the dense bag gives."""

import numpy as np
import pytest

from tests.test_text import _config, _tree, tf_strings
from zoo import RecipeError, build_model, load_recipe
from zoo.data import load


@pytest.fixture()
def reviews(tmp_path):
    words = {"neg": ["bad", "poor", "dull"], "pos": ["good", "fine", "great"]}
    texts = {
        split: {
            c: [f"{ws[i % 3]} {ws[(i + 1) % 3]} film {i}" for i in range(n)]
            for c, ws in words.items()
        }
        for split, n in (("train", 24), ("test", 6))
    }
    return _tree(tmp_path / "reviews", texts)


def test_sparse_bags_hold_the_dense_bags_values(reviews):
    import tensorflow as tf

    text = {"ngrams": 2, "output_mode": "multi_hot", "sequence_length": None}
    dense = load(_config(reviews, text=text), batch_size=8, seed=0)
    sparse = load(_config(reviews, text={**text, "sparse": True}), batch_size=8, seed=0)
    assert sparse.info.model_inputs == {**dense.info.model_inputs, "sparse": True}
    bags, _ = next(iter(sparse.model_ready("train")))
    assert isinstance(bags, tf.SparseTensor) and bags.dtype == tf.float32
    sample = tf_strings(["good fine film", "bad poor poor"])
    got = sparse.preprocessor(sample)
    assert isinstance(got, tf.SparseTensor)
    want = dense.preprocessor(sample).numpy()
    np.testing.assert_allclose(tf.sparse.to_dense(got).numpy(), want, rtol=1e-6)
    assert got.values.shape[0] == np.count_nonzero(want)  # Only the n-grams present.


def test_sparse_and_dense_text_bow_are_the_same_model():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    bags = (rng.random((4, 30)) < 0.2) * rng.random((4, 30)).astype("float32")
    for params in ({}, {"hidden_units": (8,)}):
        dense = build_model("text_bow", vocabulary_size=30, **params)
        sparse = build_model("text_bow", vocabulary_size=30, sparse=True, **params)
        sparse.set_weights(dense.get_weights())
        as_sparse = tf.sparse.from_dense(bags)
        want = dense.predict(bags, verbose=0)
        np.testing.assert_allclose(sparse(as_sparse, training=False), want, rtol=1e-5)
        # Unit length first: a bag's scale does not matter.
        scaled = tf.sparse.from_dense(5 * bags)
        np.testing.assert_allclose(sparse(scaled, training=False), want, rtol=1e-5)
        # Dropout of the bag's entries acts while training, on sparse bags too.
        assert not np.allclose(sparse(as_sparse, training=True), want, rtol=1e-4)


def test_sparse_bag_recipe_trains_and_exports_models_taking_raw_strings(reviews, tmp_path):
    from zoo import train_recipe
    from zoo.config.loading import validate

    recipe = validate(
        {
            "name": "sparse_bow",
            "seed": 1,
            "model": {"name": "text_bow", "params": {"dropout": 0.0}},
            "data": {
                **_config(reviews, validation_fraction=0.25).model_dump(),
                "text": {
                    "ngrams": 2,
                    "output_mode": "multi_hot",
                    "sequence_length": None,
                    "sparse": True,
                },
            },
            "training": {
                "epochs": 8,
                "batch_size": 8,
                "optimizer": {"name": "adam", "learning_rate": 0.05},
            },
            "evaluation": {"splits": ["test"], "metrics": ["accuracy"]},
            "export": {"saved_model": False, "keras": True},
        }
    )
    result = train_recipe(recipe, output_dir=tmp_path / "run", verbose=0)
    loss = result.history["loss"]
    assert loss[-1] < 0.7 * loss[0]
    assert result.metrics["test"]["accuracy"] >= 0.9  # Chance is 0.5.
    import keras

    model = keras.saving.load_model(result.run_dir / "model.keras")
    probs = np.asarray(model(tf_strings(["good fine film", "bad dull film"])))
    assert probs[0].argmax() == 1 and probs[1].argmax() == 0
    # A text run publishes: the builder's model is found inside the raw-input model
    # (whose preprocessor is a nested model too), and the preset answers alike.
    from zoo import from_preset
    from zoo.presets.publish import publish

    publish(result.run_dir, tmp_path / "preset")
    preset = from_preset(str(tmp_path / "preset"))
    again = np.asarray(preset.model(tf_strings(["good fine film", "bad dull film"])))
    np.testing.assert_allclose(again, probs, rtol=1e-6)


def test_the_builders_model_is_found_in_the_raw_input_wrapper_only():
    import keras

    from zoo.exporting.writers import builder_model

    inner_in = keras.Input((3,))
    backbone = keras.Model(inner_in, keras.layers.Dense(2)(inner_in), name="backbone")
    x = keras.Input((3,))
    own = keras.Model(x, keras.layers.Dense(2)(backbone(x)), name="net")  # Holds a model.
    assert builder_model(own) is own
    raw = keras.Input((3,))
    pre = keras.Model(raw, keras.layers.Rescaling(2.0)(raw), name="pre")
    wrapper = keras.Model(raw, own(pre(raw)), name="net_raw_input")
    assert builder_model(wrapper) is own


def test_sparse_bags_need_a_builder_that_takes_them_and_no_onnx(tmp_path):
    base = """
model: {name: text_rnn}
data:
  source: directory
  path: reviews
  splits: {train: train, test: test}
  text: {output_mode: multi_hot, sparse: true}
"""
    path = tmp_path / "r.yaml"
    path.write_text(base)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    (field, message), *_ = [(p.path, p.message) for p in err.value.problems]
    assert field == "data.text.sparse" and "text_bow" in message
    with pytest.raises(RecipeError) as err:
        load_recipe(path, ["model.name=text_bow", "export.onnx=true"])
    assert [p.path for p in err.value.problems] == ["export.onnx"]
    for mode in ("int", "tf_idf"):  # Token ids are no bag; Keras has no sparse tf_idf.
        with pytest.raises(RecipeError) as err:
            load_recipe(path, ["model.name=text_bow", f"data.text.output_mode={mode}"])
        assert "sparse applies to output_mode multi_hot only" in str(err.value)
