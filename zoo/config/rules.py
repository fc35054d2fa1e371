"""Cross-field rules: what a recipe means as a whole, checked at load time (no TensorFlow).

The schema checks each field alone; these check fields against each other, so that
`--dry-run` catches what would otherwise fail after training started (an evaluation split
the data lacks, a monitor nothing logs, a metric that cannot apply to the loss) or, worse,
train a model whose figures mean nothing. Each rule is a function of the validated
`Recipe` yielding (field path, message); `check` runs them all. Add a rule by writing
one more function and listing it in `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from zoo import limits
from zoo.config import catalog, monitors, sources
from zoo.config.schema import (
    TEST_TIME_MIRRORS,
    CsvData,
    DirectoryData,
    FileData,
    Metric,
    Recipe,
)
from zoo.models.registry import get_model_entry

Found = Iterator[tuple[str, str]]


def _available_splits(recipe: Recipe) -> dict[str, str]:
    """split role -> why it is not available ('' when it is)."""
    data = recipe.data
    out = {"train": ""}
    if monitors._single_csv(recipe):
        assert isinstance(data, CsvData)
        out["validation"] = "" if data.validation_fraction > 0 else "data.validation_fraction is 0"
        out["test"] = "" if data.test_fraction > 0 else "data.test_fraction is 0"
        return out
    out["validation"] = (
        ""
        if monitors.has_validation(recipe)
        else "data.splits.validation is not set"
        + (" and data.validation_fraction is 0" if isinstance(data, FileData) else "")
    )
    out["test"] = "" if data.splits.test is not None else "data.splits.test is null"
    return out


def evaluation_splits(recipe: Recipe) -> Found:
    splits = recipe.evaluation.splits
    if not splits:
        yield (
            "evaluation.splits",
            "is empty; name at least one split to score (train, validation or test).",
        )
    available = _available_splits(recipe)
    for i, split in enumerate(splits):
        if split in splits[:i]:
            yield f"evaluation.splits[{i}]", f"names {split!r} twice; list each split once."
        elif available.get(split):
            yield (
                f"evaluation.splits[{i}]",
                f"asks to score {split!r}, but the data has no such split "
                f"({available[split]}). Add it to the data, or drop it from evaluation.splits.",
            )


def _metrics_fit_loss(
    metrics: list[Metric], where: str, loss: str, matrix: dict[str, frozenset[str]]
) -> Found:
    task = catalog.LOSS_TASKS[loss]
    seen: dict[str, int] = {}
    for i, metric in enumerate(metrics):
        if task not in matrix.get(metric.name, frozenset()):
            fitting = [m for m, t in matrix.items() if task in t]
            yield (
                f"{where}[{i}]",
                f"metric {metric.name!r} cannot apply to loss {loss!r} ({task} labels); "
                f"with this loss use: {', '.join(fitting)}. Or change the loss.",
            )
        log_name = catalog.metric_log_name(metric.name, metric.k)
        if log_name in seen:
            yield f"{where}[{i}]", f"repeats metric {log_name!r} (also item {seen[log_name]})."
        seen.setdefault(log_name, i)


def metrics_fit_loss(recipe: Recipe) -> Found:
    loss = recipe.training.loss.name
    training = recipe.training.metrics
    yield from _metrics_fit_loss(training, "training.metrics", loss, catalog.METRIC_TASKS)
    if recipe.evaluation.metrics is not None:
        yield from _metrics_fit_loss(
            recipe.evaluation.metrics,
            "evaluation.metrics",
            loss,
            catalog.EVALUATION_METRIC_TASKS,
        )


def monitored_quantities(recipe: Recipe) -> Found:
    yield from monitors.monitor_problems(recipe)


def _known_classes(recipe: Recipe) -> tuple[str, int] | None:
    params = recipe.model.params
    if isinstance(params.get("num_classes"), int) and not isinstance(params["num_classes"], bool):
        return "model.params.num_classes", params["num_classes"]
    names = getattr(recipe.data, "class_names", None)
    if names:
        return "data.class_names", len(names)
    return None


def class_counts(recipe: Recipe) -> Found:
    """num_classes, class_names and top-k's k must agree when the recipe gives them."""
    params = recipe.model.params
    names = getattr(recipe.data, "class_names", None)
    count = params.get("num_classes")
    if names and isinstance(count, int) and count != len(names):
        yield (
            "model.params.num_classes",
            f"is {count}, but data.class_names lists {len(names)} classes; make them agree "
            "(or leave num_classes out: the data sets it).",
        )
    known = _known_classes(recipe)
    if known is None:
        return
    source, n = known
    for where in ("training.metrics", "evaluation.metrics"):
        for i, metric in enumerate(getattr(recipe, where.split(".")[0]).metrics or ()):
            if metric.name == "top_k_accuracy" and (metric.k or 5) >= n:
                yield (
                    f"{where}[{i}].k",
                    f"is {metric.k or 5} (default 5), but there are {n} classes ({source}): "
                    "top-k accuracy would always be 1. Use a k below the class count.",
                )
    if recipe.training.loss.name == "binary_crossentropy" and n != 2:
        yield "training.loss", f"binary_crossentropy needs 2 classes; {source} gives {n}."


def steps_need_splits(recipe: Recipe) -> Found:
    if recipe.training.validation_steps is not None and not monitors.has_validation(recipe):
        yield (
            "training.validation_steps",
            "is set, but the data has no validation split; add one or remove this.",
        )


def learning_rate_plateau(recipe: Recipe) -> Found:
    """Keras's ReduceLROnPlateau can only change a constant learning rate."""
    rate = recipe.training.optimizer.learning_rate
    if recipe.training.callbacks.reduce_lr_on_plateau is not None and not isinstance(
        rate, int | float
    ):
        yield (
            "training.callbacks.reduce_lr_on_plateau",
            f"cannot change a scheduled learning rate ({rate.schedule}); use a constant "
            "training.optimizer.learning_rate, or remove reduce_lr_on_plateau.",
        )
    plateau = recipe.training.callbacks.reduce_lr_on_plateau
    if plateau is not None and isinstance(rate, int | float) and plateau.min_lr >= rate:
        yield (
            "training.callbacks.reduce_lr_on_plateau.min_lr",
            f"is {plateau.min_lr}, not below the learning rate {rate}: it could never act.",
        )


def preprocessing_fits_data(recipe: Recipe) -> Found:
    """Text options need text inputs; image and video options need pixels."""
    data = recipe.data
    kind = sources.of(data).input_kind(data)
    if kind == "any":  # Known only once read (a TFDS dataset's features).
        return
    if data.text is not None and kind != "text":
        yield "data.text", f"applies to text inputs, but this {data.source} data is not text."
    if data.image is not None and kind not in ("image", "pixels"):
        yield "data.image", f"applies to images, but this {data.source} data holds {kind}."
    if data.video is not None and kind not in ("pixels", "clips"):
        yield "data.video", f"applies to clips, but this {data.source} data holds {kind}."


def exports_fit_inputs(recipe: Recipe) -> Found:
    """What the data's preprocessing puts in front of the model, and a format cannot
    convert; found here rather than after training. LiteRT has no string ops, so a model
    that takes raw text cannot be converted (ONNX exports the token-id part instead).
    Clips resized by `data.video.resize` go through an antialiased resize
    (ScaleAndTranslate), which neither LiteRT nor ONNX has. The formats' own layer check
    (`Format.unconvertible`) refuses the same before fit; this says it at load time."""
    data, export = recipe.data, recipe.export
    asked = export.requested()
    text = data.text is not None or sources.of(data).input_kind(data) == "text"
    if text and "litert" in asked:
        yield (
            asked["litert"],
            "LiteRT cannot hold the text vectoriser (string ops), so this text model cannot be "
            "converted; remove it, or use export.onnx (token-id model + vocabulary).",
        )
    if data.video is not None and data.video.resize:
        for fmt, title in (("onnx", "ONNX"), ("litert", "LiteRT")):
            if fmt in asked:
                yield (
                    asked[fmt],
                    f"{title} cannot hold data.video.resize: clips are resized with "
                    "antialiasing inside the model (TensorFlow's ScaleAndTranslate), which "
                    f"{title} has no op for. Drop {asked[fmt]}, or drop data.video.resize "
                    "and give clips at the size the model takes.",
                )


def exports_fit_model(recipe: Recipe) -> Found:
    """An export format the recipe's builder declares it can never be converted to (its
    registration's `cannot_export`, e.g. video_cnn's MaxPooling3D in LiteRT): refused
    here, from the recipe alone, so `--dry-run` and a search's trial recipes say so.

    Only what no parameter can change is known here; the format's layer check on the
    built model (`Format.unconvertible`, run by the trainer before fit) finds the rest."""
    entry = get_model_entry(recipe.model.name)
    for fmt, field in recipe.export.requested().items():
        why = entry.cannot_export.get(fmt)
        if why:
            yield (
                field,
                f"model {entry.name!r} cannot be exported to {fmt}: {why}. Drop {field}, or "
                "choose another model (model.name).",
            )


def sparse_bags_fit_the_model(recipe: Recipe) -> Found:
    """Sparse bags (`data.text.sparse`) reach the builder as sparse tensors: only a builder
    that takes them (a `sparse` parameter) can train on them, and ONNX, which exports the
    model without its vectoriser, has no sparse inputs."""
    from zoo.models.registry import get_model_entry, list_models

    text = recipe.data.text
    if text is None or not text.sparse:
        return
    takers = [n for n in list_models() if "sparse" in get_model_entry(n).parameters]
    if "sparse" not in get_model_entry(recipe.model.name).parameters:
        yield (
            "data.text.sparse",
            f"model {recipe.model.name} does not take sparse bags; set data.text.sparse: "
            f"false, or use a builder that does ({', '.join(takers)}).",
        )
    if recipe.export.onnx:
        yield (
            "export.onnx",
            "ONNX exports the model without its vectoriser and has no sparse inputs, so it "
            "cannot take sparse bags; remove export.onnx or set data.text.sparse: false.",
        )


def fractions_leave_training_data(recipe: Recipe) -> Found:
    data = recipe.data
    if isinstance(data, CsvData) and data.validation_fraction + data.test_fraction >= 1:
        yield (
            "data.test_fraction",
            f"with validation_fraction {data.validation_fraction} leaves no training rows; "
            "keep their sum below 1.",
        )
    if (
        isinstance(data, FileData)
        and data.validation_fraction > 0
        and data.splits.validation
        and not monitors._single_csv(recipe)
    ):
        yield (
            "data.validation_fraction",
            f"is {data.validation_fraction}, but data.splits.validation is also set "
            f"({data.splits.validation!r}), so it would be ignored; keep one of the two.",
        )


def video_augment_fits(recipe: Recipe) -> Found:
    video = recipe.data.video
    if video is None or video.augment is None:
        return
    if video.resize and video.augment.crop >= min(video.resize):
        yield (
            "data.video.augment.crop",
            f"is {video.augment.crop}, not below the clip size {list(video.resize)}.",
        )
    if video.frames and video.augment.time_jitter >= video.frames:
        yield (
            "data.video.augment.time_jitter",
            f"is {video.augment.time_jitter}, not below data.video.frames ({video.frames}).",
        )


def test_time_views_were_trained(recipe: Recipe) -> Found:
    """Test-time views average over flipped and shifted images or clips, which only mean
    the same class when the model learned them as such from its training augmentation."""
    found = recipe.data.test_time()
    if found is None:
        return
    field, views = found
    kind = field.split(".")[1]  # image or video
    augment = getattr(recipe.data, kind).augment
    noun = "image" if kind == "image" else "clip"
    if kind == "image":
        trained = TEST_TIME_MIRRORS.get((augment.flip if augment else None) or "", ())
        flip_now = (augment.flip if augment else None) or "off"
        shift_ok = augment is not None and (augment.crop >= views.shift or augment.translation)
        shift_how = "crop {crop} and no translation"
    else:  # clips: VideoAugment.flip mirrors left-right, or not at all
        trained = ("horizontal",) if augment and augment.flip else ()
        flip_now = "true (left-right only)" if trained else "off"
        shift_ok = augment is not None and augment.crop >= views.shift
        shift_how = "crop {crop}"
    wanted = TEST_TIME_MIRRORS[views.flip] if views.flip else ()
    if any(mode not in trained for mode in wanted):
        fix = (
            f"Set data.image.augment.flip: {views.flip} (if a mirrored image keeps its class)"
            if kind == "image"
            else "Set data.video.augment.flip: true and test_time.flip: horizontal (if a "
            "left-right mirrored clip keeps its class)"
        )
        yield (
            f"{field}.flip",
            f"averages over {views.flip.replace('_', ' ')} mirror {noun}s, but "
            f"data.{kind}.augment.flip is {flip_now}, so training never showed the model "
            f"such {noun}s. {fix}, or remove the flip.",
        )
    if views.shift and getattr(recipe.data, kind).resize:
        yield (
            f"{field}.shift",
            f"moves {noun}s after data.{kind}.resize, but data.{kind}.augment moves the raw "
            f"{noun}s before it, so their pixels differ in size and training may never have "
            f"shown such {noun}s. Remove the shift (flips still apply), or the resize.",
        )
    elif views.shift and not shift_ok:
        crop = augment.crop if augment else 0
        yield (
            f"{field}.shift",
            f"moves {noun}s by {views.shift} pixels, but data.{kind}.augment has "
            f"{shift_how.format(crop=crop)}, so training never showed the model such "
            f"{noun}s. Set data.{kind}.augment.crop: {views.shift} or more, or lower the "
            "shift.",
        )


def distribution_fits(recipe: Recipe) -> Found:
    dist = recipe.distribution
    if dist.devices is not None and dist.strategy not in ("one_device", "mirrored"):
        yield (
            "distribution.devices",
            f"is used by the one_device and mirrored strategies only, not {dist.strategy!r}; "
            "set distribution.strategy or remove devices.",
        )
    if dist.strategy == "one_device" and dist.devices is not None and len(dist.devices) > 1:
        yield "distribution.devices", "one_device takes one device; use mirrored for several."
    replicas = None
    if dist.strategy == "mirrored":
        replicas = len(dist.devices) if dist.devices else dist.cpu_devices
    if replicas and recipe.training.batch_size < replicas:
        yield (
            "training.batch_size",
            f"is {recipe.training.batch_size}, below the {replicas} replicas: each replica "
            "needs at least one example of the global batch. Raise it.",
        )
    if dist.tpu is not None and dist.strategy not in ("tpu", "auto"):
        yield "distribution.tpu", f"is ignored by strategy {dist.strategy!r}; remove it."


def callbacks_installed(recipe: Recipe) -> Found:
    """A callback whose package is an extra: refused at load time, naming the extra, not
    met as a traceback when training starts."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        for path, on in (
            ("training.callbacks.tensorboard", recipe.training.callbacks.tensorboard),
            ("tracking.tensorboard", recipe.tracking.tensorboard),
        ):
            if on:
                yield (
                    path,
                    "needs TensorBoard, which is not installed: pip install 'keras-recipe-zoo"
                    "[tensorboard]' (or set tensorboard: false).",
                )
    if recipe.tracking.mlflow is not None and importlib.util.find_spec("mlflow") is None:
        yield (
            "tracking.mlflow",
            "needs MLflow, which is not installed: pip install 'keras-recipe-zoo[mlflow]' "
            "(or remove tracking.mlflow).",
        )


def resource_limits(recipe: Recipe) -> Found:
    """Sizes the recipe alone decides, against `zoo.limits`, before anything is allocated:
    model widths and estimated size, text lengths and vocabularies, image and clip sizes,
    declared class counts and grid-search sizes (see `zoo.limits` for each default and the
    environment variable that raises it)."""
    for limit in limits.LIMITS:  # A malformed ZOO_MAX_* variable is named on any load.
        limit.value()
    data = recipe.data
    extra: dict[str, int] = {}
    if data.text is not None:
        text = data.text
        if text.sequence_length is not None:
            yield from _over(
                limits.SEQUENCE_LENGTH, text.sequence_length, "data.text.sequence_length"
            )
        yield from _over(limits.VOCABULARY, text.max_tokens, "data.text.max_tokens")
        if "vocabulary_size" not in recipe.model.params:
            extra["data.text.max_tokens"] = text.max_tokens
    yield from limits.model_parameter_problems(recipe.model.params, extra)
    if data.image is not None and data.image.resize:
        height, width = data.image.resize
        yield from _over(limits.IMAGE_PIXELS, height * width, "data.image.resize (height × width)")
    if isinstance(data, DirectoryData) and data.kind == "image":
        height, width = data.image_size
        yield from _over(limits.IMAGE_PIXELS, height * width, "data.image_size (height × width)")
    video = data.video
    if video is not None and video.resize:
        height, width = video.resize
        if video.frames:
            yield from _over(
                limits.CLIP_PIXELS,
                video.frames * height * width,
                "data.video (frames × resize height × width)",
            )
        else:
            yield from _over(
                limits.IMAGE_PIXELS, height * width, "data.video.resize (height × width)"
            )
    names = getattr(data, "class_names", None)
    if names:
        yield from _over(limits.CLASSES, len(names), "data.class_names")
    search = recipe.search
    if search is not None and search.sampler == "grid":
        sizes = [d.size() or 0 for d in search.parameters.values()]
        yield from _over(limits.SEARCH_GRID, limits.grid_size(sizes), "search (grid points)")


def _over(limit: limits.Limit, value: int, where: str) -> Found:
    """`where` is the field, optionally followed by what is counted: "data.image.resize
    (height × width)"."""
    field, _, counted = where.partition(" (")
    why = limit.problem(value, counted.rstrip(")"))
    if why:
        yield field, why


RULES: tuple[Callable[[Recipe], Found], ...] = (
    evaluation_splits,
    metrics_fit_loss,
    monitored_quantities,
    class_counts,
    steps_need_splits,
    learning_rate_plateau,
    preprocessing_fits_data,
    exports_fit_inputs,
    exports_fit_model,
    sparse_bags_fit_the_model,
    fractions_leave_training_data,
    video_augment_fits,
    test_time_views_were_trained,
    distribution_fits,
    callbacks_installed,
    resource_limits,
)


def check(recipe: Recipe) -> list[tuple[str, str]]:
    """(field path, message) for everything in `recipe` that cannot work together."""
    return [found for rule in RULES for found in rule(recipe)]
