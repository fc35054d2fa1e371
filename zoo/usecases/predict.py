"""`zoo predict MODEL INPUT...`: classify raw inputs, the way the model was trained.

MODEL is a run folder, a preset (folder or hf:// / kaggle:// address), a `.keras`,
`.onnx` or `.tflite` file, or a SavedModel folder. INPUTs are image files (PNG/JPEG/GIF/BMP),
`.txt` files (one text each, for text models), `.npy` / `.npz` arrays (one example or a
batch in the model's raw input shape), or folders of such files.

Why images are converted: a user's photo is rarely the training data's size or colour
(a 100×100 RGB photo of a digit for a 28×28 grey MNIST model). Training data is decoded,
converted to the model's channels and resized bilinearly (Keras's directory readers do
the same), so predict does exactly that, and says so in a note per input, rather than
refusing the photo. Arrays are not converted: they are checked like training data
(finite, in the model's dtype range, the right shape), and a bad one is refused naming it.
Every file is stat-ed and its size checked against zoo's input_bytes limit
(`ZOO_MAX_INPUT_BYTES`, zoo/limits.py) before it is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import limits
from zoo.errors import ZooError

if TYPE_CHECKING:
    import numpy as np

    from zoo.exporting.artifacts import Loaded

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp"})
SUFFIXES = IMAGE_SUFFIXES | {".txt", ".npy", ".npz"}
_INTEGER_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535)}


@dataclass(frozen=True)
class Prediction:
    """One input's answer: `probabilities[i]` is the probability of `classes[i]`."""

    input: str
    probabilities: list[float]
    classes: list[str]
    note: str = ""  # e.g. "resized 100×100×3 → 28×28×1"

    def top(self, k: int) -> list[tuple[str, float]]:
        order = sorted(range(len(self.probabilities)), key=lambda c: -self.probabilities[c])
        return [(self.classes[c], self.probabilities[c]) for c in order[:k]]

    def as_dict(self, k: int) -> dict[str, Any]:
        best, probability = self.top(1)[0]
        return {
            "input": self.input,
            "class": best,
            "probability": probability,
            "top": [{"class": c, "probability": p} for c, p in self.top(k)],
            **({"note": self.note} if self.note else {}),
        }


def check_input_file(path: Path) -> None:
    """A ZooError unless `path` is a regular file within the size cap (never opens a FIFO
    or a device, never reads a file larger than ZOO_MAX_INPUT_BYTES (zoo/limits.py))."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ZooError(f"Input {path} does not exist.") from None
    except OSError as exc:
        raise ZooError(f"Input {path} cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(info.st_mode):
        return  # A folder of inputs: its files are checked one by one.
    if not stat.S_ISREG(info.st_mode):
        raise ZooError(f"Input {path} is not a regular file (a FIFO or device?).")
    limits.INPUT_BYTES.check(info.st_size, f"zoo predict input {path}")


def expand(inputs: Sequence[str | Path]) -> list[Path]:
    """Every input file: files as given, folders as their known files (sorted, recursive,
    hidden ones skipped). A folder with none is an error."""
    files: list[Path] = []
    for given in inputs:
        path = Path(given)
        check_input_file(path)
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and p.is_file()
        )
        if not found:
            raise ZooError(
                f"Input folder {path} holds no {', '.join(sorted(SUFFIXES))} file to predict."
            )
        for p in found:
            check_input_file(p)
        files.extend(found)
    return files


def _image(path: Path, shape: tuple[int | None, ...], notes: dict[str, str]) -> np.ndarray:
    """Decoded, converted to the model's channels and resized to its size, as training."""
    import tensorflow as tf

    if len(shape) != 3 or shape[-1] not in (1, 3, 4):
        raise ZooError(
            f"Input {path} is an image; the model takes {_shown(shape)} per example, not "
            "images. Give a .npy array of that shape."
        )
    image = tf.io.decode_image(path.read_bytes(), channels=0, expand_animations=False)
    before = tuple(image.shape)
    channels = shape[-1]
    if image.shape[-1] in (2, 4):  # Grey or RGB with alpha: drop the alpha.
        image = image[..., : image.shape[-1] - 1]
    if channels == 1 and image.shape[-1] == 3:
        image = tf.image.rgb_to_grayscale(image)
    elif channels in (3, 4) and image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    if channels == 4:
        image = tf.concat(
            [image, tf.fill([*image.shape[:2], 1], tf.constant(255, image.dtype))], -1
        )
    height, width = shape[0], shape[1]
    if height is not None and width is not None and tuple(image.shape[:2]) != (height, width):
        resized = tf.image.resize(tf.cast(image, "float32"), (height, width), method="bilinear")
        image = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), "uint8")
    after = tuple(image.shape)
    if after != before:
        notes[str(path)] = f"converted {'×'.join(map(str, before))} → {'×'.join(map(str, after))}"
    return image.numpy()


def _shown(shape: Sequence[int | None]) -> list[Any]:
    return [d if d is not None else "any" for d in shape]


def _checked_array(label: str, array: np.ndarray, dtype: str | None) -> None:
    """Refuse what training data would be refused for: NaN/Inf, values out of the
    model's integer dtype range, fractions for an integer input."""
    import numpy as np

    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ZooError(
                f"Input {label} holds {int(bad.sum())} NaN or infinite value(s) (first at "
                f"index {list(where)}); the model takes finite numbers. Fix or drop them."
            )
    limits = _INTEGER_RANGES.get(dtype or "")
    if limits is None or array.size == 0:
        return
    low, high = float(array.min()), float(array.max())
    if low < limits[0] or high > limits[1]:
        raise ZooError(
            f"Input {label} holds values from {low:g} to {high:g}; the model takes {dtype} "
            f"values in [{limits[0]}, {limits[1]}] (raw pixels, before any rescaling)."
        )
    if array.dtype.kind == "f" and not np.all(np.equal(np.mod(array, 1), 0)):
        raise ZooError(
            f"Input {label} holds fractional values; the model takes whole {dtype} values in "
            f"[{limits[0]}, {limits[1]}] (raw pixels: multiply 0–1 images by 255 first)."
        )


def read_inputs(
    path: Path,
    shape: tuple[int | None, ...],
    dtype: str | None = None,
    notes: dict[str, str] | None = None,
) -> list[tuple[str, np.ndarray]]:
    """(label, example) pairs from one file, each example in the model's input `shape`;
    `notes` collects what was done to an input (a conversion or resize)."""
    import numpy as np

    notes = {} if notes is None else notes
    check_input_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in IMAGE_SUFFIXES:
            arrays = [(str(path), _image(path, shape, notes))]
        elif suffix == ".txt":
            arrays = [(str(path), np.array(path.read_text(encoding="utf-8"), dtype=object))]
        elif suffix == ".npy":
            arrays = [(str(path), np.load(path, allow_pickle=False))]
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if not archive.files:
                    raise ZooError(f"Input {path} is an empty .npz: it holds no array.")
                if len(archive.files) > 1:
                    raise ZooError(
                        f"Input {path} holds {len(archive.files)} arrays "
                        f"({', '.join(archive.files[:5])}); give one array per .npz, or .npy."
                    )
                arrays = [(f"{path}:{k}", archive[k]) for k in archive.files]
        else:
            raise ZooError(
                f"Input {path}: unknown kind; use {', '.join(sorted(SUFFIXES))} or a folder."
            )
    except ZooError:
        raise
    except Exception as exc:  # A file that cannot be decoded is the user's to fix.
        raise ZooError(f"Cannot read input {path}: {type(exc).__name__}: {exc}") from None
    out: list[tuple[str, np.ndarray]] = []
    for label, array in arrays:
        if array.dtype.kind not in "biuf" and not (suffix == ".txt"):
            raise ZooError(
                f"Input {label} holds {array.dtype} values; the model takes numbers "
                f"(shape {_shown(shape)} per example)."
            )
        if (array.ndim == 0 and suffix != ".txt") or array.size == 0:
            raise ZooError(f"Input {label} holds no example (shape {list(array.shape)}).")
        if suffix != ".txt":
            _checked_array(label, array, dtype)
        if array.ndim == len(shape) + 1:  # A batch.
            out += [(f"{label}[{i}]", example) for i, example in enumerate(array)]
        else:
            out.append((label, array))
    for label, example in out:
        if len(example.shape) != len(shape) or any(
            want is not None and want != got for want, got in zip(shape, example.shape, strict=True)
        ):
            raise ZooError(
                f"Input {label} has shape {list(example.shape)}; the model takes "
                f"{_shown(shape)} per example."
            )
    return out


def load_model(model: str | Path) -> Loaded:
    """The model at `model` through its one verified path: a preset's files are checked
    against their sha256 first, a run's class names come only from files it lists
    (zoo/usecases/model_source.py)."""
    from zoo.usecases.model_source import load_for_prediction

    return load_for_prediction(model)


def predict(model: str | Path | Loaded, inputs: Sequence[str | Path]) -> list[Prediction]:
    """One `Prediction` per example in `inputs` (files or folders of them)."""
    import numpy as np

    from zoo.exporting import artifacts

    files = expand(inputs)  # Before loading the model: fail fast on a bad file.
    loaded = model if isinstance(model, artifacts.Loaded) else load_model(model)
    notes: dict[str, str] = {}
    examples = [
        pair
        for path in files
        for pair in read_inputs(path, loaded.input_shape, loaded.input_dtype, notes)
    ]
    if loaded.input_dtype == "string":  # Raw texts: bytes, as tf.string holds them.
        batch = np.array([str(x.item()).encode() for _, x in examples], dtype=object)
    else:
        batch = np.stack([x for _, x in examples]).astype(loaded.input_dtype or "float32")
    try:
        probs = np.asarray(loaded.predict(batch))
    except Exception as exc:  # Inputs the model cannot take (shape or dtype).
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise ZooError(
            f"The model at {loaded.path} cannot take the inputs {', '.join(map(str, inputs))}: "
            f"{first}"
        ) from None
    names = loaded.class_names(probs.shape[-1])
    return [
        Prediction(label, [float(p) for p in row], names, notes.get(label, ""))
        for (label, _), row in zip(examples, probs, strict=True)
    ]
