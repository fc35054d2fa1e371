"""zoo's own TFDS datasets. Importing this package registers their builders with TFDS.

Imported by `zoo.data.sources.tfds` before it looks a dataset up by name, so recipes
name them like any TFDS dataset (`data: {source: tfds, name: moving_shapes}`). It
imports tensorflow_datasets, so nothing imports it at CLI start-up.
"""

from zoo.data.datasets import moving_shapes

__all__ = ["moving_shapes"]
