"""`learning_rate` in each epoch's logs, so `history.csv` shows the schedule that ran.

Why: the default schedule is cosine decay, and a run's record should show the rate each
epoch ended with (a warmup, a decay, a ReduceLROnPlateau step), not only the recipe's
formula. The callback goes before the CSVLogger, which writes every key of the logs.
Keras is imported inside the factory, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any


def learning_rate_logger() -> Any:
    """A Keras callback adding the optimizer's current learning rate to each epoch's logs."""
    import keras

    class LearningRateLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: MutableMapping[str, Any] | None = None) -> None:
            if logs is None or "learning_rate" in logs:  # ReduceLROnPlateau may have set it.
                return
            rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
            if rate is not None:
                logs["learning_rate"] = float(keras.ops.convert_to_numpy(rate))

    return LearningRateLogger()
