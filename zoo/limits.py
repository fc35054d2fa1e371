"""Resource limits: every size a recipe, a file or an argument can ask zoo to allocate.

Why: a number in a recipe (`sequence_length: 10000000`), a file header (a 500 KB PNG that
decodes to 529 megapixels) or an argument (`--workers 1000`) can ask for more memory or
processes than any machine has. Such requests must be refused *before* allocation, with a
message naming the limit, the value and how to raise it, not met as an OOM kill, a frozen
machine or a traceback. The bottom layer of zoo: imports only `zoo.errors` and the
standard library, so any module (recipe rules, data sources, the CLI) can check a limit.

Each `Limit` has a documented default and an environment variable that raises (or
lowers) it, read when the limit is checked, so `ZOO_MAX_CLASSES=50000 zoo train r.yaml`
works without code changes. A value that is not a positive whole number is refused by
name. `LIMITS` lists them all (the README's table is generated from the same facts).

The model's parameter count is *estimated* from the builder parameters without building
anything (`model_parameter_problems`): builders differ, so zoo cannot count exactly at load
time without importing Keras. Instead two builder-agnostic bounds are checked:

- every whole number in `model.params` (or in a list there), other than the ones checked by
  their own limits (input shape, classes, vocabulary, sequence length), is a *width*
  (units, filters, embedding size, depth) and must be at most `model_width`;
- the two largest widths (vocabulary size counted as a width: an embedding table is
  vocabulary × dimension) multiplied, plus every other width times the largest, is a
  rough count of the biggest weight matrices such a network can hold (fan-in × fan-out)
  and must be at most `model_parameters`. It over-counts small models and cannot see
  depth multiplying widths; the exact count, where a caller can afford building under
  Keras's deferred initialisation, is checked with `check_parameter_count`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ZooError


class LimitExceeded(ZooError):
    """A value over one of zoo's resource limits; names the limit and how to raise it."""

    def __init__(self, message: str, limit: Limit, value: int):
        super().__init__(message)
        self.limit = limit
        self.value = value


@dataclass(frozen=True)
class Limit:
    """One bound: `name`, the environment variable that overrides `default`, the unit the
    values count, and why the default is what it is (shown in messages)."""

    name: str
    env: str
    default: int
    unit: str
    why: str

    def value(self) -> int:
        """The limit in force: the environment variable when set, else the default."""
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        try:
            number = int(raw.replace("_", ""))
        except ValueError:
            number = 0
        if number < 1:
            raise ZooError(
                f"{self.env}={raw!r} is not a positive whole number; set it to the largest "
                f"{self.unit} to allow (default {self.default:,}), or unset it."
            )
        return number

    def problem(self, value: int, what: str) -> str | None:
        """Why `value` (of `what`, e.g. 'data.text.sequence_length'; '' when the caller
        names the field itself) is over the limit, or None when it is within it."""
        limit = self.value()
        if value <= limit:
            return None
        subject = f"{what} is" if what else "is"
        return (
            f"{subject} {value:,} {self.unit}, over zoo's {self.name} limit of {limit:,} "
            f"({self.why}). If you mean it, raise the limit: export {self.env}={value}."
        )

    def check(self, value: int, what: str) -> None:
        """Raise `LimitExceeded` when `value` is over the limit."""
        why = self.problem(value, what)
        if why is not None:
            raise LimitExceeded(why, self, value)


def _cpus() -> int:
    return max(4, os.cpu_count() or 1)


MODEL_WIDTH = Limit(
    "model_width",
    "ZOO_MAX_MODEL_WIDTH",
    65_536,
    "units",
    "any one layer width, filter count, embedding size or depth in model.params",
)
MODEL_PARAMETERS = Limit(
    "model_parameters",
    "ZOO_MAX_MODEL_PARAMETERS",
    1_000_000_000,
    "parameters",
    "4 GB of float32 weights, before optimizer state",
)
SEQUENCE_LENGTH = Limit(
    "sequence_length",
    "ZOO_MAX_SEQUENCE_LENGTH",
    100_000,
    "tokens",
    "tokens per text; memory grows with batch × length × width",
)
VOCABULARY = Limit(
    "vocabulary",
    "ZOO_MAX_VOCABULARY",
    5_000_000,
    "tokens",
    "vocabulary entries; the embedding table grows with it",
)
IMAGE_PIXELS = Limit(
    "image_pixels",
    "ZOO_MAX_IMAGE_PIXELS",
    16_777_216,
    "pixels",
    "height × width an image is resized to or a model takes, 4096 × 4096",
)
CLIP_PIXELS = Limit(
    "clip_pixels",
    "ZOO_MAX_CLIP_PIXELS",
    33_554_432,
    "pixels",
    "frames × height × width of one clip, e.g. 128 frames of 512 × 512",
)
DECODED_PIXELS = Limit(
    "decoded_pixels",
    "ZOO_MAX_DECODED_PIXELS",
    89_478_485,
    "pixels",
    "width × height of an image file as its header declares it, before decoding "
    "(Pillow's decompression-bomb bound)",
)
CLASSES = Limit(
    "classes",
    "ZOO_MAX_CLASSES",
    10_000,
    "classes",
    "a 10,000-class confusion matrix alone is 800 MB",
)
SEARCH_GRID = Limit(
    "search_grid",
    "ZOO_MAX_SEARCH_GRID",
    100_000,
    "points",
    "points a grid search enumerates",
)
WORKERS = Limit(
    "workers",
    "ZOO_MAX_WORKERS",
    _cpus(),
    "processes",
    "trial processes; the default is this machine's CPU count (at least 4), each one "
    "training a model",
)
INPUT_BYTES = Limit(
    "input_bytes",
    "ZOO_MAX_INPUT_BYTES",
    256 * 1024 * 1024,
    "bytes",
    "one input file given to zoo predict, read whole into memory",
)

LIMITS: tuple[Limit, ...] = (
    MODEL_WIDTH,
    MODEL_PARAMETERS,
    SEQUENCE_LENGTH,
    VOCABULARY,
    IMAGE_PIXELS,
    CLIP_PIXELS,
    DECODED_PIXELS,
    CLASSES,
    SEARCH_GRID,
    WORKERS,
    INPUT_BYTES,
)


# ------------------------------------------------------------------ model parameters
# model.params keys checked by a limit of their own, not as widths.
_OWN_LIMITS: dict[str, Limit] = {
    "num_classes": CLASSES,
    "vocabulary_size": VOCABULARY,
    "sequence_length": SEQUENCE_LENGTH,
}


def _ints(value: Any) -> Iterator[int]:
    """Whole numbers in a value or a (nested, bounded by the YAML limits) list of them."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _ints(item)


def _shape_problems(shape: Any, where: str) -> list[tuple[str, str]]:
    """An input shape's spatial size: (H, W, C) images, (T, H, W[, C]) clips."""
    dims = list(_ints(shape))
    if len(dims) != len(shape if isinstance(shape, list | tuple) else ()) or len(dims) < 2:
        return []  # Not a shape of whole numbers: the builder's own checks word that.
    if len(dims) >= 4:
        why = CLIP_PIXELS.problem(math.prod(dims[:3]), "frames × height × width")
    else:
        why = IMAGE_PIXELS.problem(math.prod(dims[:2]), "height × width")
    return [(where, why)] if why else []


def model_parameter_problems(
    params: Mapping[str, Any], extra_widths: Mapping[str, int] | None = None
) -> list[tuple[str, str]]:
    """(field, message) for every builder parameter over a limit (see the module
    docstring for how widths and the parameter estimate are read). `extra_widths` adds
    widths the data section fixes (e.g. `data.text.max_tokens` as the vocabulary)."""
    found: list[tuple[str, str]] = []
    widths: list[tuple[int, str]] = []
    for key, value in params.items():
        where = f"model.params.{key}"
        if key == "input_shape":
            found.extend(_shape_problems(value, where))
            continue
        for number in _ints(value):
            limit = _OWN_LIMITS.get(key, MODEL_WIDTH)
            why = limit.problem(number, "")
            if why:
                found.append((where, why))
                break
            if key not in ("num_classes", "sequence_length"):
                widths.append((number, where))
    for where, number in (extra_widths or {}).items():
        widths.append((number, where))
    if found or len(widths) < 2:
        return found
    widths.sort(reverse=True)
    (first, at_first), (second, at_second) = widths[0], widths[1]
    estimate = first * second + first * sum(w for w, _ in widths[2:])
    why = MODEL_PARAMETERS.problem(
        estimate,
        f"the model's estimated size ({at_first} {first:,} × {at_second} {second:,}, plus "
        "the other widths × the largest; zoo.limits explains the estimate)",
    )
    if why:
        found.append(("model.params", why))
    return found


def check_parameter_count(count: int, model: str) -> None:
    """Refuse a model whose exact parameter count (counted before its weights are
    allocated) is over `model_parameters`."""
    MODEL_PARAMETERS.check(count, f"model {model!r}")


# ------------------------------------------------------------------ search spaces
def grid_size(sizes: Sequence[int]) -> int:
    """Points in a grid with these per-parameter sizes, computed without enumerating."""
    return math.prod(sizes)


# ------------------------------------------------------------------ files
def check_input_file(path: str | os.PathLike[str], what: str = "input") -> int:
    """The size of the file at `path`, refused when over `input_bytes` (stat only, before
    reading). For commands that read a whole file into memory (`zoo predict`)."""
    size = Path(path).stat().st_size
    INPUT_BYTES.check(size, f"{what} {path}")
    return size


def check_workers(count: int, flag: str = "--workers") -> None:
    """Refuse a worker count over `workers` (each worker is a training process)."""
    WORKERS.check(count, flag)


def table() -> str:
    """The limits as a Markdown table (name, default, environment variable, what)."""
    rows = ["| limit | default | raise with | what it bounds |", "|---|---|---|---|"]
    for limit in LIMITS:
        rows.append(
            f"| `{limit.name}` | {limit.default:,} {limit.unit} | `{limit.env}` | {limit.why} |"
        )
    return "\n".join(rows)
