"""zoo: Keras 3 model builders, YAML recipes and one trainer.

    from zoo import build_model, list_models, load_recipe, train_recipe
    model = build_model("mnist_cnn")
    preset = from_preset("presets/mnist_cnn")  # preset.model, preset.class_names
    result = train_recipe(load_recipe("mnist_cnn", ["training.epochs=1"]))

Importing zoo does not import TensorFlow; building or training a model does. zoo's
own Keras layers (zoo/models/layers.py) are registered as soon as Keras is imported, so
`keras.saving.load_model("model.keras")` works after `import zoo`.
"""

from zoo.config.loading import RecipeError, load_recipe
from zoo.config.schema import Recipe
from zoo.errors import ZooError
from zoo.models.registration import install as _register_layers_with_keras
from zoo.models.registry import build_model, get_model_entry, list_models, register_model
from zoo.presets.load import Preset, from_preset
from zoo.training.api import train_recipe

__version__ = "0.1.0"

_register_layers_with_keras()

__all__ = [
    "Preset",
    "Recipe",
    "RecipeError",
    "ZooError",
    "build_model",
    "from_preset",
    "get_model_entry",
    "list_models",
    "load_recipe",
    "register_model",
    "train_recipe",
]
