"""The data check: what a model is about to be trained on must mean what the recipe says.

Run by `zoo.data.load` on every source before any model is built (`data.check: false`
skips it and says so). Sources describe each split as `SplitStats`: completely where the
data is in memory or listed (npz arrays, CSV rows, directory listings), from a bounded
sample where it is not (TFDS). `check_bundle` then judges across splits: empty splits,
labels against the class count, an inferred class count that is implausibly large,
classes the training split never shows, a training split with one class. Every refusal
is a DataError naming the split and the index, row or file, with the fix.

The array helpers (`refuse_bad_kind`, `scan_arrays`) are used by the sources directly:
bad kinds (strings, objects, datetimes, uint64, scalars) cannot be read at all, so they
are refused whether or not the check runs; `scan_arrays` is the complete, chunked
label/finiteness scan of in-memory data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoo import limits
from zoo.data.pipeline import complete_cache
from zoo.errors import DataError

if TYPE_CHECKING:
    import numpy as np

    from zoo.data.bundle import DataBundle

log = logging.getLogger("zoo")

# Without class names, the class count is the largest label + 1; past this it is far more
# likely a stray label than a real class count (name the classes to go beyond it).
MAX_INFERRED_CLASSES = 10_000
# Sampled scans (data not in memory, e.g. TFDS) stop after this many examples or seconds.
SAMPLE_EXAMPLES = 20_000
SAMPLE_SECONDS = 10.0
# Decoding every image of a directory source stops after this long (the rest is read
# unchecked, and the log says so).
DECODE_SECONDS = 120.0
# Finiteness is checked this many elements at a time, so memory stays flat.
CHUNK_ELEMENTS = 1 << 22

Locate = Callable[[int], str]


def _index(i: int) -> str:
    return f"index {i}"


@dataclass
class SplitStats:
    """What a scan found in one split: example count and label counts.

    `complete` is False when only a sample was read; `first_at` maps each label to where
    it first occurs (for naming a stray label); `locate` turns an example index into a
    place a user can find (an index, a file line, a file).
    """

    role: str
    examples: int
    label_counts: dict[int, int]
    complete: bool = True
    first_at: dict[int, int] = field(default_factory=dict)
    locate: Locate = _index

    def where(self, label: int) -> str:
        at = self.first_at.get(label)
        return f" at {self.locate(at)}" if at is not None else ""


@dataclass
class CheckReport:
    """The per-split summaries of a passed check (or `skipped`)."""

    splits: dict[str, SplitStats] = field(default_factory=dict)
    num_classes: int | None = None
    seconds: float = 0.0
    skipped: bool = False

    def lines(self) -> list[str]:
        if self.skipped:
            return ["data check skipped (data.check: false)"]
        out = []
        for role, s in self.splits.items():
            scope = "all checked" if s.complete else "a sample checked"
            counts = sorted(s.label_counts.items())
            shown = " ".join(f"{k}:{v:,}" for k, v in counts[:12])
            if len(counts) > 12:
                shown += f" ... ({len(counts) - 12} more)"
            out.append(
                f"data check: {role}: {s.examples:,} examples ({scope}), "
                f"{len(counts)} classes seen of {self.num_classes}; labels {shown}"
            )
        out.append(f"data check: passed (data read and checked in {self.seconds:.1f} s)")
        return out


# ------------------------------------------------------------------ array kinds
_KIND_NAMES = {
    "O": "Python objects",
    "U": "strings",
    "S": "byte strings",
    "M": "datetimes",
    "m": "time deltas",
    "V": "structured records",
    "c": "complex numbers",
}


def refuse_bad_kind(array: np.ndarray, what: str, *, labels: bool = False) -> None:
    """Refuse arrays no model can take: scalars, non-numeric or uint64 values.

    `what` names the array for the message (e.g. "data.path x.npz member 'train_images'").
    Labels must additionally be integers.
    """
    import numpy as np

    if array.ndim == 0:
        raise DataError(
            f"{what} is a single value (a 0-d scalar), not one entry per example. "
            "Store an array whose first axis is the examples."
        )
    kind = array.dtype.kind
    if kind in _KIND_NAMES or array.dtype.fields is not None:
        raise DataError(
            f"{what} holds {_KIND_NAMES.get(kind, 'structured records')} "
            f"(dtype {array.dtype}); a model needs numbers. Store numeric arrays "
            "(e.g. uint8 or float32 inputs, integer labels)."
        )
    if array.dtype == np.uint64:
        raise DataError(
            f"{what} holds uint64 values, which TensorFlow cannot feed to a model. "
            "Convert it, e.g. to int64 (labels) or float32 (inputs), and save again."
        )
    if labels and kind not in "iu":
        raise DataError(
            f"{what} holds {array.dtype} values; labels must be integer class indices "
            "0..N-1. Convert them, e.g. with labels.astype('int64')."
        )


# ------------------------------------------------------------------ scans
def _first_nonfinite(inputs: np.ndarray) -> int | None:
    """Index of the first example holding NaN or Inf, reading a chunk at a time."""
    import numpy as np

    if inputs.dtype.kind != "f" or len(inputs) == 0:
        return None
    per_example = max(1, int(np.prod(inputs.shape[1:])))
    step = max(1, CHUNK_ELEMENTS // per_example)
    for start in range(0, len(inputs), step):
        chunk = inputs[start : start + step].reshape(-1, per_example)
        bad = ~np.isfinite(chunk).all(axis=1)
        if bad.any():
            return start + int(np.argmax(bad))
    return None


def label_stats(role: str, labels: np.ndarray, locate: Locate = _index) -> SplitStats:
    """Counts of integer labels (N,), refusing negative ones; bounded memory for strays."""
    import numpy as np

    if len(labels) and labels.min() < 0:
        at = int(np.argmax(labels < 0))
        raise DataError(
            f"data.splits.{role}: label {int(labels[at])} at {locate(at)} is negative; labels "
            "are class indices 0..N-1. Fix the data (or map the labels) and run again."
        )
    values, first, counts = np.unique(labels, return_index=True, return_counts=True)
    return SplitStats(
        role=role,
        examples=len(labels),
        label_counts={int(v): int(c) for v, c in zip(values, counts, strict=True)},
        first_at={int(v): int(i) for v, i in zip(values, first, strict=True)},
        locate=locate,
    )


def scan_arrays(
    role: str, inputs: np.ndarray, labels: np.ndarray, locate: Locate = _index
) -> SplitStats:
    """The complete check of an in-memory split: finite inputs, labels >= 0, counts."""
    at = _first_nonfinite(inputs)
    if at is not None:
        raise DataError(
            f"data.splits.{role}: the input at {locate(at)} holds NaN or infinite values; a "
            "model trained on it gets NaN weights. Clean or drop those examples "
            "(or set data.check: false to train anyway)."
        )
    return label_stats(role, labels, locate)


def scan_dataset(
    role: str,
    ds: Any,
    *,
    max_examples: int = SAMPLE_EXAMPLES,
    max_seconds: float = SAMPLE_SECONDS,
) -> SplitStats:
    """A bounded scan of an unbatched (input, label) tf.data split: labels and finiteness.

    Reads at most `max_examples` examples or `max_seconds`, whichever comes first; the
    stats say whether that was the whole split.
    """
    import numpy as np
    import tensorflow as tf

    def flags(x, y):  # Per example, so inputs of varying shapes batch fine.
        finite = tf.reduce_all(tf.math.is_finite(x)) if x.dtype.is_floating else True
        return finite, y

    counts: dict[int, int] = {}
    first: dict[int, int] = {}
    seen, complete = 0, True
    start = time.perf_counter()
    scanned = ds.map(flags, num_parallel_calls=tf.data.AUTOTUNE).batch(512)
    batches = iter(scanned)
    for finite, y in batches:
        y = np.asarray(y).reshape(len(y), -1)
        if y.shape[1] != 1 or y.dtype.kind not in "iu":
            raise DataError(
                f"data.splits.{role}: labels are {y.dtype} of shape {y.shape[1:]} per example; "
                "they must be one integer class index each. Check data.features."
            )
        y = y[:, 0]
        bad = ~np.asarray(finite)
        if bad.any():
            raise DataError(
                f"data.splits.{role}: the input at index {seen + int(np.argmax(bad))} holds NaN "
                "or infinite values; clean the data (or set data.check: false to train anyway)."
            )
        part = label_stats(role, y)
        for v, c in part.label_counts.items():
            counts[v] = counts.get(v, 0) + c
            first.setdefault(v, seen + part.first_at[v])
        seen += len(y)
        if seen >= max_examples or time.perf_counter() - start > max_seconds:
            complete = False
            complete_cache(batches, scanned)
            break
    return SplitStats(role, seen, counts, complete=complete, first_at=first)


# ------------------------------------------------------------------ files
def decode_images(
    paths: list[str], channels: int, role: str, *, max_seconds: float | None = None
) -> int:
    """Decode every image as the directory reader will; a file that does not decode is
    named. Returns how many were decoded (fewer than all once `max_seconds`, by default
    `DECODE_SECONDS`, is spent): the rest are met unchecked during training, where the
    source's `explain` hook names a bad one (zoo.data.pipeline_errors).

    Decoding runs in parallel in tf.data; `ignore_errors` drops the files that fail, so
    the missing paths in the (ordered) output are exactly the bad ones.
    """
    import tensorflow as tf

    budget = DECODE_SECONDS if max_seconds is None else max_seconds
    if not paths:
        return 0
    if budget <= 0:
        return _unchecked(role, 0, len(paths), budget)

    def decode(path):
        image = tf.image.decode_image(
            tf.io.read_file(path), channels=channels, expand_animations=False
        )
        return path, tf.shape(image)

    ds = tf.data.Dataset.from_tensor_slices(tf.constant(paths, tf.string))
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.apply(tf.data.experimental.ignore_errors()).batch(256)
    position = {p: i for i, p in enumerate(paths)}
    start, done = time.perf_counter(), 0
    for batch, _ in ds:
        for p in batch.numpy():
            i = position[p.decode()]
            if i != done:
                _undecodable(paths[done], role, channels)
            done = i + 1
        if time.perf_counter() - start > budget:
            return _unchecked(role, done, len(paths), budget)
    if done != len(paths):
        _undecodable(paths[done], role, channels)
    return done


def _unchecked(role: str, done: int, total: int, budget: float) -> int:
    log.info(
        "data check: %s: decoded %d of %d images within %.0f s; the rest unchecked (a bad "
        "one is named when training meets it)",
        role,
        done,
        total,
        budget,
    )
    return done


def gif_channels_message(path: str, where: str, color_mode: str) -> str:
    """Why a GIF cannot be read in `color_mode` (TensorFlow decodes GIFs to 3 channels
    only), and the two fixes; the file itself is fine."""
    return (
        f"{where}: {path} is a GIF, and GIFs decode to 3 channels (RGB) only, so "
        f"color_mode {color_mode!r} cannot read it (the file is not corrupt). Convert the "
        "GIFs to PNG (e.g. mogrify -format png *.gif), or use data.color_mode: rgb."
    )


def _undecodable(path: str, role: str, channels: int | None = None) -> None:
    import tensorflow as tf

    from zoo.data.image_header import read_header

    try:
        header = read_header(path)
    except OSError:
        header = None
    if header is not None and header.format == "gif" and channels not in (None, 0, 3):
        mode = {1: "grayscale", 4: "rgba"}.get(channels or 0, str(channels))
        raise DataError(gif_channels_message(path, f"data.splits.{role}", mode))
    try:
        tf.image.decode_image(tf.io.read_file(path), expand_animations=False)
        reason = "it does not decode"
    except Exception as exc:  # TF raises several error types; all mean "cannot decode".
        from zoo.data.pipeline_errors import message

        reason = message(exc)
    raise DataError(
        f"data.splits.{role}: the image {path} cannot be decoded ({reason}); it is corrupt, "
        "truncated or not an image. Replace or remove it."
    )


# ------------------------------------------------------------------ the judgement
def _class_count(
    bundle: DataBundle, config: Any, stats: Mapping[str, SplitStats]
) -> tuple[int, bool]:
    """(the class count the model will get, whether the dataset's own metadata declares
    the classes), refusing a stray-looking inferred count."""
    info = bundle.info
    top_role, top = None, -1
    for role, s in stats.items():
        if s.label_counts and max(s.label_counts) > top:
            top_role, top = role, max(s.label_counts)
    named = bool(getattr(config, "class_names", None)) or (
        info.class_names and config.source in ("tfds", "csv", "directory")
    )
    num = info.num_classes if info.num_classes is not None else top + 1
    if top >= num:
        s = stats[top_role]
        raise DataError(
            f"data.splits.{top_role}: label {top}{s.where(top)} is outside the "
            f"{num} classes (labels must be 0..{num - 1}"
            + (", one per name in data.class_names" if getattr(config, "class_names", None) else "")
            + "). Fix the stray label, or name every class in data.class_names."
        )
    if not named and num > MAX_INFERRED_CLASSES:
        s = stats[top_role]
        raise DataError(
            f"data.splits.{top_role}: label {top}{s.where(top)} would make a "
            f"{num:,}-class model (the class count is inferred as the largest label + 1; "
            f"more than {MAX_INFERRED_CLASSES:,} looks like a stray label). Fix that label, "
            "or give data.class_names to name every class."
        )
    why = limits.CLASSES.problem(num, f"data.splits.{top_role}: the data's class count")
    if why:  # Before a model or a confusion matrix of that size is allocated.
        raise DataError(why)
    # A TFDS dataset declares its classes in its metadata, and a slice of it (train[:1000])
    # may lack some. In files the user made, a class with no training example is a mistake.
    declared = config.source == "tfds"
    return num, declared


def check_bundle(bundle: DataBundle, config: Any) -> CheckReport:
    """Check a loaded bundle's splits; raises DataError on a defect, else a summary.

    Uses the source's complete stats (`bundle.stats`) where it has them, else scans a
    bounded sample of the split's examples (`bundle.raw`, or the batched split).
    """
    if not getattr(config, "check", True):
        return CheckReport(skipped=True)
    start = time.perf_counter()
    stats: dict[str, SplitStats] = {}
    for role in ("train", "validation", "test"):
        ds = bundle.split(role)
        if ds is None:
            continue
        if role in bundle.stats:
            stats[role] = bundle.stats[role]
        else:
            raw = bundle.raw.get(role)
            stats[role] = scan_dataset(role, raw if raw is not None else ds.unbatch())
        if stats[role].examples == 0:
            raise DataError(
                f"data.splits.{role} holds no examples. Point data.splits.{role} at data, "
                "or remove the split."
            )
    num, declared = _class_count(bundle, config, stats)
    train = stats["train"]
    if train.complete and len(train.label_counts) == 1:
        (only,) = train.label_counts
        raise DataError(
            f"data.splits.train: every one of its {train.examples:,} examples has label "
            f"{_name(bundle, only)}; a model trained on one class learns nothing (accuracy "
            "1.0 would mean nothing). Add examples of the other classes, or check "
            "data.label_column / the label files."
        )
    if train.complete and num <= MAX_INFERRED_CLASSES:
        unseen = [c for c in range(num) if c not in train.label_counts]
        if unseen:
            shown = ", ".join(_name(bundle, c) for c in unseen[:5])
            more = f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""
            message = (
                f"data.splits.train holds no example of class {shown}{more} (of {num} "
                "classes): the model would have outputs it never learns."
            )
            if declared:  # A slice of a TFDS dataset: a warning.
                log.warning("data check: %s", message)
            else:  # A stray label, an empty class folder or a class_names typo.
                raise DataError(
                    f"{message} Fix the stray label or fill the empty class folder, or name "
                    "every class in data.class_names."
                )
    return CheckReport(splits=stats, num_classes=num, seconds=time.perf_counter() - start)


def _name(bundle: DataBundle, label: int) -> str:
    names = bundle.info.class_names
    if 0 <= label < len(names) and names[label] != str(label):
        return f"{label} ({names[label]!r})"
    return str(label)
