"""A toy data source in one file outside zoo/: XOR points, registered with one call.

tests/test_plugin_source.py imports it and trains a recipe naming `source: xor` with no
change to zoo's code; zoo knows nothing of this file.
"""

from __future__ import annotations

from typing import Literal

import zoo
from zoo.config.schema import DataCommon


class XorData(DataCommon):
    """Noisy XOR points: the label is whether x and y have the same sign."""

    source: Literal["xor"]
    examples: int = 512
    noise: float = 0.1


def load(config: XorData, *, batch_size: int, seed: int) -> zoo.DataBundle:
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def split(n: int) -> tf.data.Dataset:
        x = rng.uniform(-1, 1, (n, 2)).astype("float32")
        y = (np.sign(x[:, 0]) == np.sign(x[:, 1])).astype("int64")
        x += rng.normal(0, config.noise, x.shape).astype("float32")
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)

    n = config.examples
    info = zoo.DataInfo(
        input_name="point",
        input_shape=(2,),
        input_dtype="float32",
        num_classes=2,
        class_names=("different", "same"),
        num_examples={"train": n, "validation": n // 4, "test": n // 4},
    )
    return zoo.DataBundle(
        info=info,
        train=split(n).shuffle(64, seed=seed),
        validation=split(n // 4),
        test=split(n // 4),
    )


zoo.register_source("xor", config=XorData, load=load, input_kind="features")
