"""`moving_shapes`: short clips of a shape drifting over noise, labelled by its direction.

A TFDS dataset generated on the spot (no download, a few seconds): each clip shows one
bright square, disc or cross of random size, start position and speed (1 or 2 pixels
per frame) moving left, right, up or down over fresh uniform noise in every frame. The
shape wraps around the edges, so its position in any single frame is uniform whatever
the direction: one frame, or any order-blind summary of the frames, says nothing about
the class. Only motion does, which is what a video model must learn.

Every split is drawn from its own fixed seed, so the data is the same on every machine.
"""

from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

DIRECTIONS = ("left", "right", "up", "down")
# (row, column) step of each direction, in pixels per frame before scaling by speed.
_STEPS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}
FRAMES, SIZE = 12, 32
SPLITS = {"train": (2400, 1), "validation": (400, 2), "test": (800, 3)}  # (clips, seed)


def _shape_mask(kind: int, size: int) -> np.ndarray:
    """A size×size boolean mask: 0 square, 1 disc, 2 cross."""
    if kind == 0:
        return np.ones((size, size), bool)
    r = np.arange(size) - (size - 1) / 2
    if kind == 1:
        return (r[:, None] ** 2 + r[None, :] ** 2) <= (size / 2) ** 2
    bar = np.abs(r) <= size / 6
    return bar[:, None] | bar[None, :]


def generate(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(clips uint8 (count, FRAMES, SIZE, SIZE, 1), labels int64 (count,)), from `seed`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(DIRECTIONS), count)
    clips = rng.integers(0, 100, (count, FRAMES, SIZE, SIZE), dtype=np.uint8)
    for i, label in enumerate(labels):
        size = int(rng.integers(5, 10))
        canvas = np.zeros((SIZE, SIZE), bool)
        canvas[:size, :size] = _shape_mask(int(rng.integers(0, 3)), size)
        brightness = rng.integers(160, 256)
        start = rng.integers(0, SIZE, 2)
        step = np.array(_STEPS[DIRECTIONS[label]]) * int(rng.integers(1, 3))
        for t in range(FRAMES):
            mask = np.roll(canvas, tuple(start + step * t), axis=(0, 1))
            clips[i, t][mask] = brightness
    return clips[..., None], labels.astype(np.int64)


class MovingShapes(tfds.core.GeneratorBasedBuilder):
    """Direction of motion of a shape over noise; 12 frames of 32×32 grey, 4 classes."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "First release."}

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "video": tfds.features.Tensor(shape=(FRAMES, SIZE, SIZE, 1), dtype=np.uint8),
                    "label": tfds.features.ClassLabel(names=DIRECTIONS),
                }
            ),
            supervised_keys=("video", "label"),
        )

    def _split_generators(self, dl_manager):
        return {name: self._generate_examples(*spec) for name, spec in SPLITS.items()}

    def _generate_examples(self, count: int, seed: int):
        clips, labels = generate(count, seed)
        for i in range(count):
            yield i, {"video": clips[i], "label": int(labels[i])}
