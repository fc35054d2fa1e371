"""The recipe schema: every field a recipe may hold, its type, default and meaning.

One class per YAML section. Unknown keys are errors (`extra="forbid"`), values are
frozen once validated. Read this file to learn the recipe format; `recipes/*.yaml`
show it in use. Names of models are checked against the registry by `zoo.config.loading`.
"""

from __future__ import annotations

import string
from collections.abc import Collection
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    Tag,
    field_validator,
    model_validator,
)

from zoo.config.catalog import LOSSES, METRIC_NAMES, METRICS_WITH_K
from zoo.config.search_space import Search
from zoo.config.sources import SourceConfig, data_union, on_change, register_source_config
from zoo.errors import did_you_mean

# Ranges TensorFlow and Keras enforce later (sizes, steps and counts are int32 there,
# seeds uint32); checked here so `--dry-run` catches them. Floats must be finite
# (`allow_inf_nan=False` below), strings hold no NUL and are at most MAX_STRING long.
INT32_MAX = 2**31 - 1
SEED_MAX = 2**32 - 1
MAX_STRING = 4096
MAX_PIXELS = 16384  # Per side of a resized image or clip.
PositiveInt = Annotated[int, Field(gt=0, le=INT32_MAX)]
NonNegativeInt = Annotated[int, Field(ge=0, le=INT32_MAX)]
Pixels = Annotated[int, Field(gt=0, le=MAX_PIXELS)]
Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def _check_strings(value: Any, depth: int = 0) -> None:
    """Refuse NUL bytes and over-long strings anywhere in a field's value."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("holds a NUL byte; remove it")
        if len(value) > MAX_STRING:
            raise ValueError(f"is {len(value):,} characters long; at most {MAX_STRING:,}")
    elif isinstance(value, list | tuple) and depth < 60:
        for item in value:
            _check_strings(item, depth + 1)
    elif isinstance(value, dict) and depth < 60:
        for key, item in value.items():
            _check_strings(key, depth + 1)
            _check_strings(item, depth + 1)


class Section(BaseModel):
    """Base of every section: unknown keys are errors, validated values are frozen,
    floats are finite and no string holds a NUL byte or runs past MAX_STRING."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        _check_strings(value)
        return value


def _unique_names(names: Collection[str] | None, what: str, folders: bool = False) -> None:
    """Class names: at least one, no blanks, no repeats (folder names when `folders`)."""
    if names is None:
        return
    if not names:
        raise ValueError(f"{what} is empty; list at least one class, or leave it out")
    blank = [i for i, n in enumerate(names) if not str(n).strip()]
    if blank:
        raise ValueError(f"{what}[{blank[0]}] is blank; every class needs a name")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} names {name!r} twice; each class once")
        seen.add(name)
        if folders and ("/" in name or "\\" in name or name in (".", "..")):
            raise ValueError(
                f"{what} holds {name!r}, which is not a folder name; class names here are the "
                "names of sub-folders of each split"
            )


def _name_shorthand(value: Any) -> Any:
    """Let `loss: mse` stand for `loss: {name: mse}` (same for optimizers and metrics)."""
    return {"name": value} if isinstance(value, str) else value


# ----------------------------------------------------------------------------- model
class ModelSection(Section):
    """Which registered builder to call, and its keyword parameters.

    Parameters the dataset determines (input_shape, num_classes, vocabulary_size,
    sequence_length) are filled in by the trainer when left out.
    """

    name: str
    params: dict[str, Any] = {}
    # Fine-tuning: start from a preset (folder, file://, hf://, kaggle://) or a finished run
    # folder. The trainer records the source's sha256 (of its manifest.json, or of a run's
    # model.keras) in init_from_sha256; set it yourself to pin the exact preset.
    init_from: str | None = None
    init_from_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    # Layer-name glob patterns (`conv_*`) of layers kept fixed; each must match a layer.
    freeze: list[Annotated[str, Field(min_length=1)]] = []

    @model_validator(mode="after")
    def _pin_needs_source(self) -> ModelSection:
        if self.init_from_sha256 and not self.init_from:
            raise ValueError("init_from_sha256 pins a source; set model.init_from too.")
        return self


# ------------------------------------------------------------------------------ data
class Splits(Section):
    """TFDS split expressions (slicing allowed: `train[:90%]`). Validation/test optional."""

    train: str = "train"
    validation: str | None = None
    test: str | None = "test"


# ------------------------------------------------- text and image preprocessing
class TextOptions(Section):
    """Text vectorisation: a Keras `TextVectorization` adapted on the training split only.

    It is the run's preprocessor: mapped over the splits in tf.data for training, and put
    in front of the model for evaluation and export, so exported models take raw strings.
    `strip_markup` removes HTML tags such as `<br />` first; `standardize` then lowercases
    and/or strips punctuation. `max_tokens` caps the vocabulary (padding and
    out-of-vocabulary tokens included); `sequence_length` pads/truncates token ids (null:
    pad to the longest text of each batch); `truncate` says where a longer text is cut:
    `end` keeps its first `sequence_length` tokens, `middle` its first quarter and its
    last three quarters (head + tail, Sun et al. 2019: reviews often conclude at the end;
    zoo's `KeepEnds` layer). `ngrams` adds n-grams up to that n as tokens.
    `output_mode`: `int` gives token ids in order (sequence models); `multi_hot` (is each
    vocabulary entry present) and `tf_idf` (its count × inverse document frequency, the
    frequencies learnt with the vocabulary) give one float vector of `vocabulary_size`
    per text, for bag-of-n-grams models such as `text_bow`; `sequence_length` does not
    apply to them (leave it unset).
    `sparse` (multi_hot only) hands a bag to the model as a sparse tensor (only its
    non-zero entries): a bag of 200,000 n-grams holds a few hundred, so training no
    longer builds, drops out and multiplies 200,000 floats per text. It needs a builder
    that takes sparse bags (`text_bow`, which receives `sparse: true` as a data
    parameter).
    `adapt_examples` caps how many training texts the vocabulary is learnt from (the first
    ones; null: all); `adapt_sample` (default 100,000) learns it from a bounded, seeded
    random sample of the training texts instead (null: all), so adapting costs the same
    on any dataset size. The learnt vocabulary is saved as `vocabulary.txt` in the run
    folder and reused by evaluation and export, which never adapt again.
    The builder receives `vocabulary_size` and `sequence_length` (and `sparse`).
    """

    max_tokens: Annotated[int, Field(ge=3)] = 20_000
    sequence_length: PositiveInt | None = 200
    truncate: Literal["end", "middle"] = "end"
    standardize: Literal["lower_and_strip_punctuation", "lower", "strip_punctuation", "none"] = (
        "lower_and_strip_punctuation"
    )
    strip_markup: bool = True
    ngrams: Annotated[int, Field(ge=1, le=5)] | None = None
    output_mode: Literal["int", "multi_hot", "tf_idf"] = "int"
    adapt_examples: PositiveInt | None = None
    adapt_sample: PositiveInt | None = 100_000
    sparse: bool = False

    @model_validator(mode="after")
    def _only_bags_are_sparse(self) -> TextOptions:
        if self.sparse and self.output_mode != "multi_hot":
            why = (
                "token ids are not a bag"
                if self.output_mode == "int"
                else "Keras' TextVectorization cannot give sparse tf_idf bags (it fails "
                "while vectorising, Keras 3.15)"
            )
            raise ValueError(
                f"sparse applies to output_mode multi_hot only: {why}; use output_mode "
                "multi_hot, or remove sparse"
            )
        return self

    @model_validator(mode="after")
    def _middle_needs_a_length(self) -> TextOptions:
        if self.truncate == "middle" and (self.output_mode != "int" or not self.sequence_length):
            raise ValueError(
                "truncate: middle cuts token ids (output_mode int) to sequence_length; set "
                "both, or use truncate: end"
            )
        return self

    @model_validator(mode="after")
    def _bags_have_no_length(self) -> TextOptions:
        given = "sequence_length" in self.model_fields_set and self.sequence_length is not None
        if self.output_mode != "int" and given:
            raise ValueError(
                f"sequence_length applies to output_mode int (token ids), not "
                f"{self.output_mode!r}, which gives one vector per text; remove it"
            )
        return self


class Augment(Section):
    """Random image augmentation, applied to the training split only (Keras layers
    RandomFlip, RandomRotation, RandomTranslation, RandomZoom). `rotation` is a fraction
    of a full turn, `translation` and `zoom` fractions of the image size; 0 turns one off.
    `crop`: pad each side with this many zero pixels and cut a random window of the
    original size back out (the standard CIFAR augmentation, `crop: 4`), after the others.
    """

    flip: Literal["horizontal", "vertical", "horizontal_and_vertical"] | None = None
    rotation: Fraction = 0.0
    translation: Fraction = 0.0
    zoom: Fraction = 0.0
    crop: NonNegativeInt = 0


# test_time.flip → the mirror images averaged with the image itself: every combination
# of the flips that training augmentation draws.
TEST_TIME_MIRRORS = {
    "horizontal": ("horizontal",),
    "vertical": ("vertical",),
    "horizontal_and_vertical": ("horizontal", "vertical", "horizontal_and_vertical"),
}


class TestTimeViews(Section):
    """Test-time augmentation: the evaluated and exported model averages its class
    probabilities over several views of each image, at one forward pass per view. It is
    inside the exported model, so the scores a run reports are what users get; the
    validation scores during training (checkpoint choice) see the image alone.

    `flip`: the image and its mirror images (`horizontal`: 2 views, `vertical`: 2,
    `horizontal_and_vertical`: 4). `shift`: each of those also moved diagonally by
    +shift and -shift pixels, zero-filled (3× the views). The model must have seen such
    images in training: each flip must be one `augment.flip` draws, and a shift needs
    `augment.crop` at least as large (or `augment.translation`), and no `resize` (the
    training augmentation moves raw images, before the resize, so the pixels differ).
    Clips (`data.video.test_time`) take the same views, every frame alike: `horizontal`
    flips only, as `data.video.augment.flip` mirrors left-right only.
    """

    flip: Literal["horizontal", "vertical", "horizontal_and_vertical"] | None = None
    shift: NonNegativeInt = 0

    def views(self) -> list[tuple[str | None, int]]:
        """(flip mode or None, diagonal shift in pixels) of each view, the image first."""
        flips = [None, *(TEST_TIME_MIRRORS[self.flip] if self.flip else ())]
        shifts = [0, self.shift, -self.shift] if self.shift else [0]
        return [(flip, shift) for flip in flips for shift in shifts]

    def describe(self, noun: str = "image") -> str:
        """In words, for model cards: "6 views: the image and 1 mirror image (horizontal
        flip), each also shifted ±2 px" (`noun`: what a view is of, image or clip)."""
        mirrors = len(TEST_TIME_MIRRORS[self.flip]) if self.flip else 0
        what = f"the {noun}"
        if mirrors:
            plural = "s" if mirrors > 1 else ""
            what += f" and {mirrors} mirror {noun}{plural} ({self.flip.replace('_', ' ')} flip)"
        each = "each also" if mirrors else "also"
        moved = f", {each} shifted ±{self.shift} px" if self.shift else ""
        return f"{len(self.views())} views: {what}{moved}"


class ImageOptions(Section):
    """Image preprocessing: `resize` to (height, width) and `rescale` (x × rescale +
    offset, e.g. 0.00392156862745098 for 1/255) form the run's preprocessor, inside the
    exported model, which so takes raw images; `augment` runs on the training split only.
    The builder receives the resized `input_shape`. `test_time`: views averaged at
    evaluation and in the exported model (see `TestTimeViews`).
    """

    resize: tuple[Pixels, Pixels] | None = None
    rescale: PositiveFloat | None = None
    offset: float = 0.0
    augment: Augment | None = None
    test_time: TestTimeViews | None = None


# ------------------------------------------------------------ video preprocessing
class VideoAugment(Section):
    """Random changes to training clips only (never validation, test or export).

    Each is drawn per clip and applied to every frame alike, vectorised over the batch.
    `flip`: mirror left-right with probability 1/2 (leave off when the label depends on
    left/right, e.g. a direction of motion). `crop`: shift by up to this many pixels
    (pad with zeros, crop back to the same size). `time_jitter`: shift in time by up to
    this many frames, repeating the first or last frame.
    """

    flip: bool = False
    crop: NonNegativeInt = 0
    time_jitter: NonNegativeInt = 0


class VideoOptions(Section):
    """Clips (frames, height, width[, channels]) → what a video model eats.

    Sampling, resizing and rescaling are one Keras layer in front of the exported model
    (`zoo.data.preprocessing.video`), so exported models take raw uint8 clips; only
    `augment` is training-only. `frames`: keep this many frames, `stride` apart, centred
    in the clip (null: every `stride`-th frame); clips too short repeat their last frame.
    Sources whose clips vary in length sample per clip in the pipeline instead, and
    the exported model then takes clips of exactly `frames` frames. `resize`: (height,
    width), bilinear with antialiasing. `rescale`: multiply by this (e.g. 0.00392 for
    1/255; builders such as `video_cnn` rescale by themselves unless told not to).
    Clips without a channel axis (T, H, W), such as MedMNIST 3D volumes, get one.
    `test_time`: views averaged at evaluation and in the exported model, as for images
    (see `TestTimeViews`).
    """

    frames: PositiveInt | None = None
    stride: PositiveInt = 1
    resize: tuple[Pixels, Pixels] | None = None
    rescale: PositiveFloat | None = None
    augment: VideoAugment | None = None
    test_time: TestTimeViews | None = None


def _cache_alias(value: Any) -> Any:
    """Old recipes' `cache: true/false` mean memory/none."""
    if value is True:
        return "memory"
    if value is False:
        return "none"
    return value


CacheMode = Annotated[Literal["auto", "memory", "disk", "none"], BeforeValidator(_cache_alias)]


class DataCommon(Section):
    """Fields every data source shares: which splits to read and how to feed them.

    Splits are named in the source's own terms (TFDS split expressions, folder names,
    file keys). `shuffle_buffer` and `cache` shape the training pipeline. Preprocessing
    options (text, image, video) live here too, so any source can use them. `check` runs
    the data check (labels, class count, finite inputs, files that decode) before any
    model is built; `false` skips it, and the log says so.

    `cache` keeps decoded examples after the first epoch: `memory`, `disk` (under
    `cache_dir`, else ZOO_CACHE_DIR, else ~/.cache/zoo/tfdata, keyed by this section, the
    seed and the data version; a cache is trusted only once a full pass completed it),
    `none` (data read once), or `auto` (memory when the split's estimated size is under
    1/8 of the available RAM, else disk). `true`/`false` still mean memory/none.
    `shuffle_buffer` examples are held at once: memory, not the dataset, bounds it.
    """

    splits: Splits = Splits()
    check: bool = True
    shuffle_buffer: NonNegativeInt = 10_000
    cache: CacheMode = "auto"
    cache_dir: str | None = None
    text: TextOptions | None = None
    image: ImageOptions | None = None
    video: VideoOptions | None = None

    def test_time(self) -> tuple[str, TestTimeViews] | None:
        """The test-time views the evaluated and exported model averages over, with the
        field that names them (`data.image.test_time` or `data.video.test_time`); None
        when neither does. The one place the trainer, the rules and the model card ask."""
        for kind, options in (("image", self.image), ("video", self.video)):
            if options is not None and options.test_time is not None:
                return f"data.{kind}.test_time", options.test_time
        return None


class TfdsData(DataCommon):
    """A TensorFlow Datasets dataset, prepared offline from `manual_dir` when it is set.

    `manual_dir` (or the environment variable ZOO_TFDS_MANUAL_DIR) holds the original
    raw files; `data_dir` (or TFDS_DATA_DIR) is where prepared data lives. Relative paths
    are taken from the recipe file's folder.
    """

    source: Literal["tfds"] = "tfds"
    name: str
    features: tuple[str, str] | None = None  # (input key, label key); default: supervised keys
    data_dir: str | None = None
    manual_dir: str | None = None


# ---------------------------------------------------------------- the user's files
class FileData(DataCommon):
    """Shared by sources reading the user's own files (`directory`, `csv`).

    `path` is a folder, a single file (csv) or an archive (`.tar.gz`, `.tgz`, `.tar`,
    `.zip`) extracted once into `extract_dir` (default: `extracted/` under TFDS_DATA_DIR,
    else ~/.cache/zoo/extracted); extraction is atomic and refuses members with absolute
    paths, `..` or links. `splits` name sub-folders (directory) or files (csv) below it.
    Without `splits.validation`, `validation_fraction` of the training split (picked with
    the recipe's seed) becomes the validation split; 0 means no validation split.
    """

    path: str
    extract_dir: str | None = None
    validation_fraction: Fraction = 0.0


class DirectoryData(FileData):
    """A class-per-folder tree: `<split>/<class>/<file>`, read with Keras's
    `text_dataset_from_directory` (`kind: text`, one document per file) or
    `image_dataset_from_directory` (`kind: image`, resized to `image_size`, float32 0–255,
    `color_mode` channels). `class_names` picks and orders the class folders (others,
    e.g. IMDB's `unsup`, are ignored); default: every sub-folder, sorted.
    """

    source: Literal["directory"]
    kind: Literal["text", "image"] = "text"
    class_names: list[str] | None = None
    image_size: tuple[Pixels, Pixels] = (256, 256)
    color_mode: Literal["grayscale", "rgb", "rgba"] = "rgb"

    @field_validator("class_names")
    @classmethod
    def _folder_names(cls, names: list[str] | None) -> list[str] | None:
        _unique_names(names, "class_names", folders=True)
        return names


class CsvData(FileData):
    """CSV/TSV files: one per split (`splits` name files below `path`), or `path` a single
    file split by `validation_fraction` and `test_fraction` (then `splits` is ignored).

    Columns are named (with `header: true`) or 0-based indices (`header: false`).
    `text_column` gives a text input (raw strings), or `feature_columns` a vector of
    numbers; one of the two. `label_column` holds the class: integers 0..N-1 are kept,
    anything else is mapped to 0..N-1 in sorted order of the training split's labels; the
    mapping is the run's class names (`classes.json` in the run directory). `delimiter`
    defaults to a tab for `.tsv` files, else a comma.
    """

    source: Literal["csv"]
    text_column: str | NonNegativeInt | None = None
    feature_columns: list[str | NonNegativeInt] | None = None
    label_column: str | NonNegativeInt
    header: bool = True
    delimiter: str | None = None
    test_fraction: Fraction = 0.0

    @model_validator(mode="after")
    def _one_input(self) -> CsvData:
        if (self.text_column is None) == (self.feature_columns is None):
            raise ValueError("give exactly one of text_column or feature_columns")
        if self.delimiter is not None and (len(self.delimiter) != 1 or self.delimiter in '\r\n"'):
            raise ValueError(
                f"delimiter must be one character other than a quote or a line break "
                f"(got {self.delimiter!r})"
            )
        columns = [*(self.feature_columns or ()), self.text_column]
        if self.label_column in columns:
            raise ValueError(
                f"label_column {self.label_column!r} is also an input column; the label "
                "must not be an input"
            )
        if self.feature_columns is not None:
            if not self.feature_columns:
                raise ValueError("feature_columns is empty; list at least one column")
            if len(set(self.feature_columns)) != len(self.feature_columns):
                raise ValueError("feature_columns names a column twice")
        return self


# ----------------------------------------------------------------- NumPy archives
class NpzData(DataCommon):
    """Arrays from one NumPy `.npz` archive, as MedMNIST ships them.

    `path`: the archive (relative to the recipe's folder), or a folder of `<key>.npy`
    files; uncompressed members are memory-mapped, so archives larger than RAM train.
    Each split's inputs and labels
    are read from the keys `images_key` / `labels_key` with `{split}` replaced by the
    split's name in the archive; `splits` gives those names (e.g. `validation: val`).
    Labels are integer class indices, shape (N,) or (N, 1). `class_names` optional
    (default "0", "1", ...). Loaded with `allow_pickle=False`.
    """

    source: Literal["npz"]
    path: str
    images_key: str = "{split}_images"
    labels_key: str = "{split}_labels"
    class_names: tuple[str, ...] | None = None

    @field_validator("images_key", "labels_key")
    @classmethod
    def _one_placeholder(cls, pattern: str) -> str:
        """Only a bare `{split}`: no other names, attributes, indices, conversions or specs,
        so formatting can never fail or reach into an object later."""
        hint = "may hold only the placeholder {split}, e.g. '{split}_images'"
        try:
            fields = list(string.Formatter().parse(pattern))
        except ValueError as exc:  # Unbalanced braces.
            raise ValueError(
                f"{pattern!r} {hint} ({exc}; write {{{{ for a literal brace)"
            ) from None
        for _, name, spec, conversion in fields:
            if name is None:
                continue
            if name != "split" or spec or conversion:
                shown = "{" + name + (f"!{conversion}" if conversion else "")
                shown += (f":{spec}" if spec else "") + "}"
                raise ValueError(f"{pattern!r} {hint}; {shown} is not allowed")
        if not pattern.strip():
            raise ValueError(f"is empty; it {hint}")
        return pattern

    @field_validator("class_names")
    @classmethod
    def _class_names(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        _unique_names(names, "class_names")
        return names


def _files_where(data: Any) -> str:
    return f"{data.source}:{data.path}"


def _directory_kind(data: Any) -> str:
    return str(data.kind)


def _csv_kind(data: Any) -> str:
    return "text" if data.text_column is not None else "features"


# The built-in sources' config facts (zoo/config/sources.py); their loaders register in
# zoo/data/sources/. A plug-in registers both with one call (`zoo.register_source`).
for _entry in (
    SourceConfig(
        "tfds",
        TfdsData,
        "a TensorFlow Datasets dataset, prepared offline from its original files",
        input_kind=lambda _data: "any",
        where=lambda data: f"tfds:{data.name}",
        reads_clips=True,
    ),
    SourceConfig(
        "directory",
        DirectoryData,
        "class-per-folder trees of text or image files (or an archive of one)",
        input_kind=_directory_kind,
        where=_files_where,
    ),
    SourceConfig(
        "csv",
        CsvData,
        "CSV/TSV files: a text column or feature columns, and a label column",
        input_kind=_csv_kind,
        where=_files_where,
    ),
    SourceConfig(
        "npz",
        NpzData,
        "arrays in a NumPy .npz archive (images, volumes or clips), memory-mapped",
        input_kind=lambda _data: "pixels",
        where=_files_where,
        reads_clips=True,
    ),
):
    register_source_config(_entry)

DataSection = data_union()


# ------------------------------------------------------------------ optimizer and lr
class CosineDecay(Section):
    """Linear warm-up to `initial_learning_rate`, then cosine decay to `alpha` × it."""

    schedule: Literal["cosine_decay"]
    initial_learning_rate: PositiveFloat
    decay_steps: PositiveInt | Literal["auto"] = "auto"  # auto: all steps after warm-up
    alpha: Fraction = 0.0
    warmup_steps: NonNegativeInt = 0


class ExponentialDecay(Section):
    """`initial_learning_rate × decay_rate ** (step / decay_steps)`."""

    schedule: Literal["exponential_decay"]
    initial_learning_rate: PositiveFloat
    decay_steps: PositiveInt
    decay_rate: Annotated[float, Field(gt=0.0, le=1.0)]
    staircase: bool = False


class PiecewiseConstant(Section):
    """`values[i]` until step `boundaries[i]`; one more value than boundaries."""

    schedule: Literal["piecewise_constant"]
    boundaries: list[PositiveInt]
    values: list[PositiveFloat]

    @model_validator(mode="after")
    def _one_more_value(self) -> PiecewiseConstant:
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                f"needs one more value than boundaries: {len(self.boundaries)} boundaries, "
                f"{len(self.values)} values"
            )
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:], strict=False)):
            raise ValueError(f"boundaries must increase (got {self.boundaries})")
        return self


Schedule = Annotated[
    CosineDecay | ExponentialDecay | PiecewiseConstant, Field(discriminator="schedule")
]
LearningRate = Annotated[
    Annotated[PositiveFloat, Tag("constant")] | Annotated[Schedule, Tag("schedule")],
    Discriminator(lambda v: "schedule" if isinstance(v, dict | BaseModel) else "constant"),
]


class _Optimizer(Section):
    name: str
    learning_rate: LearningRate = 1e-3
    weight_decay: NonNegativeFloat | None = None
    clipnorm: PositiveFloat | None = None
    global_clipnorm: PositiveFloat | None = None

    @model_validator(mode="after")
    def _one_clip(self) -> _Optimizer:
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError("give clipnorm or global_clipnorm, not both (Keras takes one)")
        return self


class SGD(_Optimizer):
    """Stochastic gradient descent; `momentum` > 0 gives SGD with momentum."""

    name: Literal["sgd"]
    learning_rate: LearningRate = 0.01
    momentum: Fraction = 0.0
    nesterov: bool = False


class RMSprop(_Optimizer):
    name: Literal["rmsprop"]
    rho: Fraction = 0.9
    momentum: Fraction = 0.0
    epsilon: PositiveFloat = 1e-7
    centered: bool = False


class Adam(_Optimizer):
    name: Literal["adam"]
    beta_1: Fraction = 0.9
    beta_2: Fraction = 0.999
    epsilon: PositiveFloat = 1e-7
    amsgrad: bool = False


class AdamW(Adam):
    """Adam with decoupled weight decay."""

    name: Literal["adamw"]  # type: ignore[assignment]
    weight_decay: NonNegativeFloat | None = 0.004


Optimizer = Annotated[
    SGD | RMSprop | Adam | AdamW,
    Field(discriminator="name"),
    BeforeValidator(_name_shorthand),
]


# ----------------------------------------------------------------- loss and metrics
def _one_of(kind: str, name: str, catalog: Collection[str]) -> str:
    if name not in catalog:
        raise ValueError(
            f"unknown {kind} {name!r}.{did_you_mean(name, catalog)} "
            f"Choose one of: {', '.join(catalog)}"
        )
    return name


class Loss(Section):
    """A loss by name (see `zoo.config.catalog.LOSSES`) and the options that loss accepts."""

    name: str
    from_logits: bool | None = None
    label_smoothing: Fraction | None = None
    delta: PositiveFloat | None = None

    _known = field_validator("name")(lambda name: _one_of("loss", name, LOSSES))

    @model_validator(mode="after")
    def _options_apply(self) -> Loss:
        allowed = LOSSES[self.name][1]
        given = {
            k for k in ("from_logits", "label_smoothing", "delta") if getattr(self, k) is not None
        }
        if given - allowed:
            raise ValueError(
                f"loss {self.name!r} takes no {', '.join(sorted(given - allowed))}; "
                f"it accepts: {', '.join(sorted(allowed)) or 'no options'}"
            )
        return self

    def options(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"name"}).items() if v is not None}


class Metric(Section):
    """A metric by name (see `zoo.config.catalog.METRIC_NAMES`); `k` for top-k accuracy."""

    name: str
    k: PositiveInt | None = None

    _known = field_validator("name")(lambda name: _one_of("metric", name, METRIC_NAMES))

    @model_validator(mode="after")
    def _k_applies(self) -> Metric:
        if self.k is not None and self.name not in METRICS_WITH_K:
            raise ValueError(f"metric {self.name!r} takes no k")
        return self


MetricList = list[Annotated[Metric, BeforeValidator(_name_shorthand)]]


# ------------------------------------------------------------------------- training
class Checkpoint(Section):
    """The best epoch's model is kept in the run directory, judged by `monitor`."""

    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"


class EarlyStopping(Section):
    """Stop when `monitor` stops improving; `mode` auto is resolved by zoo
    (`zoo.config.monitors`), as for the checkpoint and the LR plateau."""

    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    patience: NonNegativeInt = 3
    min_delta: NonNegativeFloat = 0.0
    restore_best_weights: bool = True


class ReduceLROnPlateau(Section):
    """Multiply the learning rate by `factor` when `monitor` plateaus (constant rates only)."""

    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    factor: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    patience: NonNegativeInt = 2
    min_lr: NonNegativeFloat = 0.0


class Callbacks(Section):
    """Callbacks beyond the always-on history log and best checkpoint; null turns off."""

    checkpoint: Checkpoint = Checkpoint()
    early_stopping: EarlyStopping | None = None
    reduce_lr_on_plateau: ReduceLROnPlateau | None = None
    tensorboard: bool = False


class Training(Section):
    """How to fit: global batch size, schedule length, optimizer, loss and metrics."""

    batch_size: PositiveInt = 32
    epochs: PositiveInt = 1
    steps_per_epoch: PositiveInt | None = None  # None: the whole training split
    validation_steps: PositiveInt | None = None  # None: the whole validation split
    optimizer: Optimizer = Adam(name="adam")
    loss: Annotated[Loss, BeforeValidator(_name_shorthand)] = Loss(
        name="sparse_categorical_crossentropy"
    )
    metrics: MetricList = [Metric(name="accuracy")]
    callbacks: Callbacks = Callbacks()
    # Speed options (zoo/compiling.py): XLA compilation of the train step ("auto": Keras
    # decides), batches run per call into the compiled function, and a Keras mixed
    # precision policy; outputs stay float32 because every builder's softmax does.
    jit_compile: bool | Literal["auto"] = "auto"
    steps_per_execution: PositiveInt = 1
    mixed_precision: Literal["mixed_bfloat16", "mixed_float16"] | None = None


# -------------------------------------------------------- distribution, eval, export
class Distribution(Section):
    """Which `tf.distribute` strategy fits the model (see zoo/distribute.py).

    auto: TPU if configured, multi-worker if TF_CONFIG names several workers, mirrored over
    several GPUs, else one device. `cpu_devices: N` splits the CPU into N logical devices
    (to run mirrored anywhere). `training.batch_size` is the global batch; with
    `scale_learning_rate` the learning rate is multiplied by the number of replicas.
    `multi_worker` reads the cluster from TF_CONFIG (`cluster_resolver: tf_config`, as
    tools/local_cluster.py sets it) or Slurm; only the chief writes the run directory.
    """

    strategy: Literal["auto", "one_device", "mirrored", "multi_worker", "tpu"] = "auto"
    devices: list[str] | None = None  # one_device / mirrored: e.g. ["/gpu:0", "/gpu:1"]
    cpu_devices: Annotated[int, Field(ge=1, le=1024)] | None = None
    cluster_resolver: Literal["tf_config", "slurm"] = "tf_config"  # multi_worker
    tpu: str | None = None  # TPU name or grpc:// address; default TPU_NAME
    scale_learning_rate: bool = False
    # multi_worker: seconds to wait for every peer in TF_CONFIG to answer before giving up
    # with a message naming the ones that did not (zoo.training.strategies).
    startup_timeout: Annotated[float, Field(gt=0, le=86_400)] = 180.0

    @field_validator("devices")
    @classmethod
    def _some_devices(cls, devices: list[str] | None) -> list[str] | None:
        if devices is not None and (not devices or not all(d.strip() for d in devices)):
            raise ValueError("list at least one device name, e.g. ['/gpu:0'], or leave it out")
        return devices


class Evaluation(Section):
    """Splits scored after training; `metrics` null means the training metrics."""

    splits: list[Literal["train", "validation", "test"]] = ["test"]
    metrics: MetricList | None = None


Quantization = Literal["none", "float16", "dynamic_int8", "int8"]


class LiteRT(Section):
    """LiteRT (`.tflite`) exports, one file per quantisation: `none` -> model.tflite,
    others -> model-<quantize>.tflite. `int8` calibrates on a sample of the training
    split. Quantised files pass their check when their test accuracy is at most
    `max_accuracy_drop` below the float model's."""

    quantize: Quantization | list[Quantization] = "none"
    max_accuracy_drop: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01

    @field_validator("quantize")
    @classmethod
    def _unique(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one quantisation, e.g. [none, int8]")
            if len(set(value)) != len(value):
                raise ValueError("lists a quantisation twice; give each once")
        return value

    def quantizations(self) -> list[str]:
        return [self.quantize] if isinstance(self.quantize, str) else list(self.quantize)


class Export(Section):
    """Artifacts written to the run directory; all take the dataset's raw input (an ONNX
    export of a text model takes token ids, with its vocabulary beside it).

    `onnx`: `onnx/model.onnx` through Keras's ONNX exporter, checked with ONNX Runtime.
    `litert`: LiteRT files, converted in a child process (see `LiteRT`).
    `tflite`: deprecated alias of `litert: {quantize: none}` (the same model.tflite).
    """

    saved_model: bool = True
    keras: bool = True
    onnx: bool = False
    litert: LiteRT | None = None
    tflite: bool = False

    def litert_quantizations(self) -> list[str]:
        """The LiteRT files to write: `litert`'s quantisations, plus `none` for `tflite`."""
        chosen = self.litert.quantizations() if self.litert is not None else []
        if self.tflite and "none" not in chosen:
            chosen = ["none", *chosen]
        return chosen

    def max_accuracy_drop(self) -> float:
        return self.litert.max_accuracy_drop if self.litert is not None else 0.01

    def requested(self) -> dict[str, str]:
        """Format name → the recipe field asking for it, for each format this section
        asks for (what an error about that format points at)."""
        out = {name: f"export.{name}" for name in ("keras", "saved_model", "onnx")}
        out = {name: where for name, where in out.items() if getattr(self, name)}
        if self.litert_quantizations():
            out["litert"] = "export.litert" if self.litert is not None else "export.tflite"
        return out


# ------------------------------------------------------------------------- tracking
class MlflowTracking(Section):
    """Log the run to MLflow (extra `mlflow`): params, per-epoch metrics, test metrics,
    tags, the card, plots and the model. `uri` null: `sqlite:///<the run folder's
    parent>/mlflow.db` (a search: its study folder), which `mlflow ui --backend-store-uri`
    opens; `experiment` null: the recipe's name."""

    uri: str | None = None
    experiment: str | None = None


class Tracking(Section):
    """Experiment trackers (zoo/training/tracking.py). `tensorboard: true` is the same as
    `training.callbacks.tensorboard: true` (event files in the run's `tensorboard/`)."""

    mlflow: MlflowTracking | None = None
    tensorboard: bool = False


# --------------------------------------------------------------------------- recipe
class Recipe(Section):
    """A whole run: model, data, training, distribution, evaluation, export and seed."""

    name: str
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = 42
    model: ModelSection
    data: DataSection
    training: Training = Training()
    distribution: Distribution = Distribution()
    evaluation: Evaluation = Evaluation()
    export: Export = Export()
    tracking: Tracking = Tracking()
    # Hyperparameter search (`zoo search`); `zoo train` ignores it. See zoo/config/search_space.py.
    search: Search | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        """The run directory is `runs/<name>-<time>`: the name must stay one plain folder
        name, never a path out of `runs/`."""
        import re

        if not re.fullmatch(NAME_PATTERN, name) or ".." in name:
            raise ValueError(
                f"{name[:60]!r} cannot name a run: use 1 to 100 letters, digits, '.', '_' or "
                "'-', starting with a letter or digit (no '/', no '..'). Set `name:` in the "
                "recipe (it defaults to the file's name)"
            )
        return name


def _rebuild_recipe() -> None:
    """A source registered after this module loaded: `Recipe.data` takes it from now on."""
    from pydantic.fields import FieldInfo

    Recipe.model_fields["data"] = FieldInfo.from_annotation(data_union())
    Recipe.model_rebuild(force=True)


on_change(_rebuild_recipe)
