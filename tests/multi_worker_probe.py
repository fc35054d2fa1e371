"""A tiny Keras `fit` under MultiWorkerMirroredStrategy, run as every worker of a local
cluster by tests/test_multi_worker.py: `python -m tests.multi_worker_probe FIXES`.

FIXES names the zoo.training.compat_multi_worker fixes to apply: `none`, `build` or `both`. Prints
`PROBE OK <loss>` after a successful fit, or `PROBE FAILED <exception>` and exits 1.
"""

import os
import sys


def main(fixes: str) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.training import compat_multi_worker
    from zoo.training import strategies as distribute

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    assert compat_multi_worker.needed(strategy)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (256, 8, 8, 1), dtype=np.uint8)  # uint8 + int labels,
    labels = (images.reshape(256, -1).mean(axis=1) > 127).astype(np.int64)  # like MNIST.
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)
    data, steps = distribute.for_workers(data, strategy, 32, 256)
    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
             keras.layers.Dense(2, activation="softmax")]
        )  # fmt: skip
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    try:
        with compat_multi_worker.patched(
            model, strategy, symbolic_build=fixes != "none", scalar_mean=fixes == "both"
        ):
            history = model.fit(data, epochs=2, steps_per_epoch=steps, verbose=0)
    except Exception as exc:  # The point: report which failure, for the test to match.
        print(f"PROBE FAILED {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", flush=True)
        return 1
    print(f"PROBE OK {history.history['loss'][-1]:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
