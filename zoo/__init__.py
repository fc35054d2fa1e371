"""zoo: Keras 3 model builders, YAML recipes and one trainer.

    import zoo
    model = zoo.build_model("mnist_cnn")
    run = zoo.train("mnist_cnn", overrides=["training.epochs=1"])
    zoo.evaluate(run.run_dir, split="test")
    preset = zoo.from_preset("presets/mnist_cnn")  # preset.model, preset.class_names

The library is zoo/api.py; this module re-exports it with the registry and recipe types.
Importing zoo does not import TensorFlow; building or training a model does. zoo's own
Keras layers (zoo/models/layers.py) are registered as soon as Keras is imported, so
`keras.saving.load_model(path)` works on a run's model after `import zoo`.
"""

from zoo.api import (
    DataBundle,
    DataInfo,
    build_model,
    check,
    evaluate,
    export,
    from_preset,
    predict,
    prepare,
    publish,
    register_source,
    results,
    search,
    train,
    train_recipe,
)
from zoo.config.loading import RecipeError, load_recipe
from zoo.config.schema import Recipe
from zoo.errors import ZooError
from zoo.models.registration import install as _register_layers_with_keras
from zoo.models.registry import get_model_entry, list_models, register_model
from zoo.presets.load import Preset
from zoo.version import __version__

_register_layers_with_keras()

__all__ = [
    "DataBundle",
    "DataInfo",
    "Preset",
    "Recipe",
    "RecipeError",
    "ZooError",
    "__version__",
    "build_model",
    "check",
    "evaluate",
    "export",
    "from_preset",
    "get_model_entry",
    "list_models",
    "load_recipe",
    "predict",
    "prepare",
    "publish",
    "register_model",
    "register_source",
    "results",
    "search",
    "train",
    "train_recipe",
]
