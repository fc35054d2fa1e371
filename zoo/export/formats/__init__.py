"""Export formats, one module each, behind `zoo.export.formats.base.Format`.

Importing this package fills `FORMATS`; importing it never imports TensorFlow.
"""

from zoo.export.formats import keras, litert, onnx, saved_model
from zoo.export.formats.base import ALIASES, FORMATS, Context, Format, get

__all__ = [
    "ALIASES",
    "FORMATS",
    "Context",
    "Format",
    "get",
    "keras",
    "litert",
    "onnx",
    "saved_model",
]
