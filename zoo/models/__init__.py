"""Built-in model families. Importing this package registers every builder.

Each builder imports Keras inside its body: registering, listing and validating
recipes then never loads TensorFlow, which keeps `--help` and `--dry-run` fast.
"""

from zoo.models import cnn, mlp, resnet, text, video

__all__ = ["cnn", "mlp", "resnet", "text", "video"]
