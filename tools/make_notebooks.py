"""Write notebooks/*.ipynb from the cells below, without outputs.

    python tools/make_notebooks.py

Notebooks are generated so their source is reviewable Python and they are always saved
clean; edit the cells here, re-run, and commit both. The test suite executes them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# Notebooks run from notebooks/: put the checkout first so `import zoo` is this zoo.
SETUP = """import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")"""

BUILDERS = [
    new_markdown_cell(
        "# The model registry\n\n"
        "List the registered builders, build each with its defaults, and look at one."
    ),
    new_code_cell(SETUP),
    new_code_cell(
        """from zoo import build_model, get_model_entry, list_models

for name in list_models():
    entry = get_model_entry(name)
    print(f"{name:10} {entry.task:15} {entry.description}")"""
    ),
    new_code_cell(
        """models = {name: build_model(name) for name in list_models()}
for name, model in models.items():
    print(f"{name}: {model.count_params():,} parameters, input {model.input_shape}")
assert models["mnist_cnn"].count_params() == 225_034  # The documented size."""
    ),
    new_code_cell(
        """for model in models.values():
    model.summary(line_length=90)"""
    ),
    new_markdown_cell(
        "## One architecture, drawn\n\n"
        "`keras.utils.plot_model` needs pydot and graphviz; where they are missing, the "
        "layers are drawn with matplotlib instead."
    ),
    new_code_cell(
        """import tempfile

import matplotlib.pyplot as plt


def draw_layers(model):
    \"\"\"One box per layer, top to bottom, with its output shape and parameter count.\"\"\"
    layers = model.layers
    fig, ax = plt.subplots(figsize=(6, 0.6 * len(layers)))
    for i, layer in enumerate(layers):
        y = len(layers) - i
        shape = tuple(layer.output.shape)
        label = f"{layer.name} ({type(layer).__name__})  {shape}  {layer.count_params():,}"
        ax.text(0.5, y, label, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "#dde8f5"})
        if i:
            ax.annotate("", (0.5, y + 0.3), (0.5, y + 0.7), arrowprops={"arrowstyle": "<-"})
    ax.set_ylim(0.4, len(layers) + 0.6)
    ax.axis("off")
    ax.set_title(model.name)
    return fig


try:
    import keras
    from IPython.display import Image, display

    png = os.path.join(tempfile.mkdtemp(), "mnist_cnn.png")
    keras.utils.plot_model(models["mnist_cnn"], png, show_shapes=True)
    display(Image(png))
except (ImportError, OSError):  # No pydot or no graphviz.
    draw_layers(models["mnist_cnn"])
    plt.show()"""
    ),
]

TRAINING = [
    new_markdown_cell(
        "# Train from a recipe\n\n"
        "Load the built-in recipe `mnist_cnn`, override it to train briefly on slices of real "
        "MNIST, plot the curves, and run the exported SavedModel on a few digits.\n\n"
        "Offline, set `ZOO_TFDS_MANUAL_DIR` to the folder holding the original MNIST files."
    ),
    new_code_cell(SETUP),
    new_code_cell(
        """from zoo import load_recipe, train_recipe
from zoo.config.loading import to_yaml

recipe = load_recipe(
    "mnist_cnn",
    [
        "data.splits.train=train[:3000]",
        "data.splits.validation=train[3000:3500]",
        "data.splits.test=test[:500]",
        "data.shuffle_buffer=3000",
        "training.epochs=3",
    ],
)
print(to_yaml(recipe))"""
    ),
    new_code_cell(
        """import tempfile

run_dir = tempfile.mkdtemp(prefix="zoo-notebook-")
result = train_recipe(recipe, output_dir=run_dir, overwrite=True, verbose=0)
print(result.metrics["test"])
assert result.metrics["test"]["accuracy"] > 0.8  # Chance is 0.1."""
    ),
    new_code_cell(
        """import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, metric in zip(axes, ["loss", "accuracy"]):
    ax.plot(result.history[metric], "o-", label="train")
    ax.plot(result.history[f"val_{metric}"], "o-", label="validation")
    ax.set_xlabel("epoch")
    ax.set_title(metric)
    ax.legend()
plt.show()"""
    ),
    new_code_cell(
        """import numpy as np
import tensorflow as tf

from zoo.data import load

images, labels = next(iter(load(recipe.data, batch_size=8, seed=0).test))
serving = tf.saved_model.load(str(result.run_dir / "saved_model")).signatures["serving_default"]
probabilities = serving(image=images)["probabilities"].numpy()
predicted = probabilities.argmax(axis=1)

fig, axes = plt.subplots(1, 8, figsize=(12, 2))
for ax, image, label, guess in zip(axes, images.numpy(), labels.numpy(), predicted):
    ax.imshow(image[..., 0], cmap="gray")
    ax.set_title(f"{guess} (true {label})", color="green" if guess == label else "red")
    ax.axis("off")
plt.show()
print("correct:", int((predicted == labels.numpy()).sum()), "of", len(predicted))"""
    ),
]


def notebooks() -> dict[str, nbformat.NotebookNode]:
    """Each notebook's file name and content, as they should be committed."""
    built = {}
    for name, cells in (("01_builders", BUILDERS), ("02_train_from_a_recipe", TRAINING)):
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        built[f"{name}.ipynb"] = nb
    return built


def main() -> None:
    NOTEBOOKS.mkdir(exist_ok=True)
    for filename, nb in notebooks().items():
        nbformat.write(nb, NOTEBOOKS / filename)
        print(f"wrote notebooks/{filename}")


if __name__ == "__main__":
    main()
