"""Built-in model families. Importing this package registers every builder.

Each builder imports Keras inside its body: registering, listing and validating
recipes then never loads TensorFlow, which keeps `--help` and `--dry-run` fast.
"""

from zoo.models import applications, bow, cnn, mlp, r2plus1d, resnet, text, transformer, video

__all__ = [
    "applications",
    "bow",
    "cnn",
    "mlp",
    "r2plus1d",
    "resnet",
    "text",
    "transformer",
    "video",
]
