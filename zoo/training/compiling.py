"""Recipe training fields → Keras optimizer, learning-rate schedule and compile options.

The loss and metric factories live in zoo/evaluation/losses_and_metrics.py: scoring
needs them too, and evaluation sits below training."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from zoo.config.schema import Training

_OPTIMIZERS = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}


def scaled(value: Any, factor: float) -> Any:
    """A learning rate (constant or schedule config) with every rate multiplied by `factor`."""
    if factor == 1:
        return value
    if isinstance(value, float | int):
        return float(value) * factor
    if value.schedule == "piecewise_constant":
        return value.model_copy(update={"values": [v * factor for v in value.values]})
    return value.model_copy(update={"initial_learning_rate": value.initial_learning_rate * factor})


def learning_rate(
    value: Any, total_steps: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    import keras

    schedules = keras.optimizers.schedules
    if isinstance(value, float | int):
        return float(value)
    if value.schedule == "cosine_decay":
        decay = value.decay_steps
        if decay == "auto":
            decay = max(1, total_steps - value.warmup_steps)
        if value.warmup_steps:
            return schedules.CosineDecay(
                0.0,
                decay,
                alpha=value.alpha,
                warmup_target=value.initial_learning_rate,
                warmup_steps=value.warmup_steps,
            )
        return schedules.CosineDecay(value.initial_learning_rate, decay, alpha=value.alpha)
    if value.schedule == "exponential_decay":
        return schedules.ExponentialDecay(
            value.initial_learning_rate,
            value.decay_steps,
            value.decay_rate,
            staircase=value.staircase,
        )
    return schedules.PiecewiseConstantDecay(value.boundaries, value.values)


def optimizer(
    config: Training, steps_per_epoch: int, lr_scale: float = 1.0
) -> keras.optimizers.Optimizer:
    """The recipe's optimizer; `decay_steps: auto` spans every training step, and every
    rate is multiplied by `lr_scale` (linear scaling with the replica count)."""
    import keras

    opt = config.optimizer
    kwargs = {
        k: v for k, v in opt.model_dump(exclude={"name", "learning_rate"}).items() if v is not None
    }
    lr = learning_rate(scaled(opt.learning_rate, lr_scale), steps_per_epoch * config.epochs)
    return getattr(keras.optimizers, _OPTIMIZERS[opt.name])(learning_rate=lr, **kwargs)


def steps_per_epoch(num_examples: int, batch_size: int, requested: int | None) -> int:
    return requested or max(1, math.ceil(num_examples / batch_size))


def compile_options(config: Training) -> dict[str, Any]:
    """The recipe's speed options as `model.compile` keywords."""
    return {
        "jit_compile": config.jit_compile,
        "steps_per_execution": config.steps_per_execution,
    }


@contextlib.contextmanager
def precision_policy(name: str | None) -> Iterator[None]:
    """Build layers under Keras' global dtype policy `name` (None: leave it alone).

    Layers read the policy when created, so it only needs to hold while the model is
    built; restoring it afterwards keeps later models in the same process unaffected.
    """
    if name is None:
        yield
        return
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
