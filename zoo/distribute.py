"""Recipe `distribution` → a `tf.distribute.Strategy`. The one place strategies are made."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from zoo.errors import ZooError

if TYPE_CHECKING:
    import tensorflow as tf

    from zoo.schema import Distribution

log = logging.getLogger("zoo")


def _split_cpu(count: int) -> None:
    """Expose `count` logical CPU devices; only possible before TensorFlow starts its runtime."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration()] * count
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        raise ZooError(
            f"distribution.cpu_devices is {count}, but TensorFlow already started with {have} "
            "CPU device(s) in this process. Run training in a fresh process "
            "(python -m zoo.train) to change it."
        ) from None


def strategy(config: Distribution) -> tf.distribute.Strategy:
    """The strategy a recipe asks for; `auto` picks mirrored only with several GPUs."""
    import tensorflow as tf

    if config.cpu_devices:
        _split_cpu(config.cpu_devices)
    gpus = tf.config.list_logical_devices("GPU")
    name = config.strategy
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        chosen = tf.distribute.get_strategy()
    elif name == "one_device":
        device = (config.devices or [gpus[0].name if gpus else "/cpu:0"])[0]
        chosen = tf.distribute.OneDeviceStrategy(device)
    else:  # mirrored
        devices = config.devices
        if devices is None and not gpus:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        chosen = tf.distribute.MirroredStrategy(devices=devices)
    log.info("strategy: %s with %d replica(s)", type(chosen).__name__, chosen.num_replicas_in_sync)
    return chosen
