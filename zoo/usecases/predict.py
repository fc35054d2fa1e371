"""`zoo predict RUN_DIR_OR_MODEL INPUT...`: classify raw inputs, print the classes.

Inputs are image files (PNG/JPEG, decoded to the model's channel count), `.txt` files
(one text per file, for text models) or `.npy` / `.npz` arrays holding one example or a
batch in the model's raw input shape. They go to the exported model as they are, the way
a serving client would send them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from zoo.exporting.artifacts import Loaded

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


def check_input_file(path: Path) -> None:
    """A ZooError unless `path` is a regular file (never opens a FIFO or a device)."""
    import os
    import stat

    from zoo.errors import ZooError

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ZooError(f"Input {path} does not exist.") from None
    except OSError as exc:
        raise ZooError(f"Input {path} cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(mode):
        raise ZooError(f"Input {path} is not a regular file (a folder, FIFO or device?).")


def read_inputs(path: Path, shape: tuple[int | None, ...]) -> list[tuple[str, np.ndarray]]:
    """(label, example) pairs from one file, each example in the model's input `shape`."""
    import numpy as np

    from zoo.errors import ZooError

    check_input_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in IMAGE_SUFFIXES:
            import tensorflow as tf

            channels = shape[-1] if len(shape) == 3 and shape[-1] in (1, 3, 4) else 0
            image = tf.io.decode_image(
                path.read_bytes(), channels=channels, expand_animations=False
            )
            arrays = [(str(path), image.numpy())]
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
            raise ZooError(f"Input {path}: unknown kind; use .png, .jpg, .txt, .npy or .npz.")
    except ZooError:
        raise
    except Exception as exc:  # A file that cannot be decoded is the user's to fix.
        raise ZooError(f"Cannot read input {path}: {type(exc).__name__}: {exc}") from None
    out: list[tuple[str, np.ndarray]] = []
    for label, array in arrays:
        if array.dtype.kind not in "biuf" and not (suffix == ".txt"):
            raise ZooError(
                f"Input {label} holds {array.dtype} values; the model takes numbers "
                f"(shape {[d if d is not None else 'any' for d in shape]} per example)."
            )
        if (array.ndim == 0 and suffix != ".txt") or array.size == 0:
            raise ZooError(f"Input {label} holds no example (shape {list(array.shape)}).")
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
                f"{[d if d is not None else 'any' for d in shape]} per example."
            )
    return out


def load_model(model: str | Path) -> Loaded:
    """The model at `model` through its one verified path: a preset's files are checked
    against their sha256 first, a run's class names come only from files it lists
    (zoo/usecases/model_source.py)."""
    from zoo.usecases.model_source import load_for_prediction

    return load_for_prediction(model)


def predict(
    model: str | Path | Loaded, inputs: Sequence[str | Path]
) -> list[tuple[str, list[float]]]:
    """(input label, probabilities) for each example in `inputs`; `model` a path or loaded."""
    import numpy as np

    from zoo.exporting import artifacts

    loaded = model if isinstance(model, artifacts.Loaded) else load_model(model)
    examples = [pair for path in inputs for pair in read_inputs(Path(path), loaded.input_shape)]
    if loaded.input_dtype == "string":  # Raw texts: bytes, as tf.string holds them.
        batch = np.array([str(x.item()).encode() for _, x in examples], dtype=object)
    else:
        batch = np.stack([x for _, x in examples]).astype(loaded.input_dtype or "float32")
    try:
        probs = loaded.predict(batch)
    except Exception as exc:  # Inputs the model cannot take (shape or dtype).
        from zoo.errors import ZooError

        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise ZooError(
            f"The model at {loaded.path} cannot take the inputs {', '.join(map(str, inputs))}: "
            f"{first}"
        ) from None
    return [
        (label, [float(p) for p in row]) for (label, _), row in zip(examples, probs, strict=True)
    ]
