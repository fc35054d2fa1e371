"""Export formats, one module each, behind `zoo.exporting.formats.base.Format`.

Importing this package fills `FORMATS`; importing it never imports TensorFlow.
"""

from zoo.exporting.formats import keras, litert, onnx, saved_model
from zoo.exporting.formats.base import ALIASES, FORMATS, Context, Format, get

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
