"""Each new builder's training speed against the same model written in plain Keras.

    python tools/benchmark_builders.py [--builders resnet,text_bow,...] [--steps 10]
                                       [--repeats 5] [--json benchmark_builders.json]

For each builder (resnet, resnet9, text_bow, text_transformer, video_r2plus1d,
keras_applications) this file writes the same architecture again, independently, in
plain Keras 3 (a pre-activation ResNet-20; ResNet-9 with a patch stem; UnitNormalization
→ Dropout → Dense over the same bag; a MultiHeadAttention encoder with keras.io's
token-and-position embedding; Conv3D (1,k,k) + (k,1,1) residual blocks;
`keras.applications.<Arch>` with the same resizing and head),
sized as the builder's recipe (video_r2plus1d twice: AdrenalMNIST3D and moving_shapes).
The comparison is only honest between the same models, so before timing anything the
tool stops (exit 1) unless each pair has the same trainable and non-trainable parameter
counts and, with the builder's weights copied into the plain model, the same
predictions (max |difference| <= 1e-5 on 8 examples). Both are compiled alike (the
recipe's optimizer, sparse categorical cross-entropy, accuracy) and fit on one identical
synthetic batch of the recipe's shape, held in memory and fed again each step (no files,
no preprocessing). After a warm-up fit each (tracing), they alternate, builder then
plain, `--repeats` times, each fit `--steps` steps; the table gives the median examples/s
of each and the ratio builder time / plain time per example (target, issue 21: <= 1.05).
A benchmark, not a test: it reports figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark import EpochClock, _steady_rate, machine  # tools/benchmark.py

SEED = 42
WARMUP_STEPS = 3  # one fit each before timing: traces the train step
TARGET = "<= 1.05"


class NotTheSameModel(Exception):
    """The plain Keras model does not have the builder's parameter counts."""


# --- The same models, written in plain Keras (each reads its case's builder params) ---


def plain_resnet(p: dict[str, Any]):
    """Pre-activation ResNet (He et al. 2016, "Identity Mappings"), CIFAR stem."""
    import keras
    from keras import layers

    l2 = keras.regularizers.L2(p["l2"]) if p["l2"] else None

    def conv(filters, size, stride=1):
        return layers.Conv2D(
            filters,
            size,
            strides=stride,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=l2,
        )

    def bn_relu(x):
        return layers.ReLU()(layers.BatchNormalization()(x))

    n = (p["depth"] - 2) // 6  # 3 stages of n two-conv blocks: ResNet-20 has n = 3.
    inputs = keras.Input(p["input_shape"])
    x = conv(p["width"], 3)(inputs)
    for stage in range(3):
        filters = p["width"] * 2**stage
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            pre = bn_relu(x)
            shortcut = conv(filters, 1, stride)(pre) if stride == 2 else x
            y = conv(filters, 3, stride)(pre)
            y = conv(filters, 3)(bn_relu(y))
            x = layers.add([shortcut, y])
    x = layers.GlobalAveragePooling2D()(bn_relu(x))
    outputs = layers.Dense(p["num_classes"], activation="softmax", kernel_regularizer=l2)(x)
    return keras.Model(inputs, outputs)


def plain_resnet9(p: dict[str, Any]):
    """Page 2018's ResNet-9 with airbench's 2×2 patch stem and pool-then-normalise order."""
    import keras
    from keras import layers

    l2 = keras.regularizers.L2(p["l2"]) if p["l2"] else None

    def conv_bn_relu(x, filters, pool=False):
        x = layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=l2,
        )(x)
        if pool:
            x = layers.MaxPooling2D()(x)
        return layers.ReLU()(layers.BatchNormalization()(x))

    inputs = keras.Input(p["input_shape"])
    x = layers.Conv2D(p["widths"][0], 2, kernel_initializer="he_normal", kernel_regularizer=l2)(
        inputs
    )
    x = layers.ReLU()(x)
    for filters, convs in zip(p["widths"][1:], p["residual"], strict=True):
        x = conv_bn_relu(x, filters, pool=True)
        if convs:
            branch = x
            for _ in range(convs):
                branch = conv_bn_relu(branch, filters)
            x = layers.add([x, branch])
    x = layers.GlobalMaxPooling2D()(x)
    logits = layers.Dense(p["num_classes"], kernel_regularizer=l2)(x)
    outputs = layers.Softmax()(layers.Rescaling(p["logit_scale"])(logits))
    return keras.Model(inputs, outputs)


def plain_bow(p: dict[str, Any]):
    """A linear softmax over the unit-length bag, input dropout in front."""
    import keras
    from keras import layers

    inputs = keras.Input((p["vocabulary_size"],))
    x = layers.UnitNormalization()(inputs)
    x = layers.Dropout(p["dropout"])(x)
    return keras.Model(inputs, layers.Dense(p["num_classes"], activation="softmax")(x))


def plain_transformer(p: dict[str, Any]):
    """keras.io's TokenAndPositionEmbedding (with the padding mask) → pre-norm encoder
    blocks of MultiHeadAttention and a GELU feed-forward → LayerNorm → masked mean."""
    import keras
    from keras import layers, ops

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(vocab_size, embed_dim)
            self.pos_emb = layers.Embedding(maxlen, embed_dim)

        def call(self, x):
            positions = self.pos_emb(ops.arange(ops.shape(x)[-1]))
            return self.token_emb(x) + positions

        def compute_mask(self, x, mask=None):
            return ops.not_equal(x, 0)

    dim, heads, rate = p["embedding_dim"], p["num_heads"], p["dropout"]
    inputs = keras.Input((p["sequence_length"],), dtype="int64")
    x = TokenAndPositionEmbedding(p["sequence_length"], p["vocabulary_size"], dim)(inputs)
    x = layers.Dropout(rate)(x)
    for _ in range(p["num_blocks"]):
        h = layers.LayerNormalization(epsilon=1e-6)(x)
        h = layers.MultiHeadAttention(heads, key_dim=dim // heads, dropout=p["attention_dropout"])(
            h, h
        )
        x = layers.add([x, layers.Dropout(rate)(h)])
        h = layers.LayerNormalization(epsilon=1e-6)(x)
        h = layers.Dense(p["feedforward_dim"], activation="gelu")(h)
        h = layers.Dense(dim)(h)
        x = layers.add([x, layers.Dropout(rate)(h)])
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(rate)(x)
    return keras.Model(inputs, layers.Dense(p["num_classes"], activation="softmax")(x))


def plain_r2plus1d(p: dict[str, Any]):
    """R(2+1)D (Tran et al. 2018): each 3×3×3 conv as Conv3D (1,3,3) → BN → ReLU →
    Conv3D (3,1,1), M_i channels between; the stem strided in space by `stem_stride`;
    one residual block per stage, later stages strided by 2 in time, height and width."""
    import keras
    from keras import layers

    k = 3

    def bn():
        return layers.BatchNormalization(momentum=0.9)

    def conv_2plus1d(x, filters, stride=1, spatial_stride=None):
        n_in, s = x.shape[-1], spatial_stride or stride
        m = (k**3 * n_in * filters) // (k**2 * n_in + k * filters)  # the paper's M_i
        x = layers.Conv3D(m, (1, k, k), strides=(1, s, s), padding="same", use_bias=False)(x)
        x = layers.ReLU()(bn()(x))
        return layers.Conv3D(
            filters, (k, 1, 1), strides=(stride, 1, 1), padding="same", use_bias=False
        )(x)

    inputs = keras.Input(p["input_shape"])
    x = layers.Rescaling(p["rescale"])(inputs)
    stem = conv_2plus1d(x, p["filters"][0], spatial_stride=p.get("stem_stride", 1))
    x = layers.ReLU()(bn()(stem))
    for stage, filters in enumerate(p["filters"]):
        stride = 2 if stage > 0 else 1
        y = layers.ReLU()(bn()(conv_2plus1d(x, filters, stride)))
        y = bn()(conv_2plus1d(y, filters))
        if stage > 0:
            x = bn()(layers.Conv3D(filters, 1, strides=stride, use_bias=False)(x))
        x = layers.ReLU()(layers.add([x, y]))
    x = layers.GlobalAveragePooling3D()(x)
    x = layers.Dropout(p["dropout"])(x)
    return keras.Model(inputs, layers.Dense(p["num_classes"], activation="softmax")(x))


def plain_application(p: dict[str, Any]):
    """`keras.applications.<architecture>` without its top, behind the same resizing and
    the family's own preprocess_input, then Dropout → softmax."""
    import keras
    from keras import layers

    application = getattr(keras.applications, p["architecture"])
    module = sys.modules[application.__module__]
    size = tuple(p["image_size"])
    inputs = keras.Input(p["input_shape"])
    x = layers.Resizing(*size)(inputs)
    x = module.preprocess_input(x)
    backbone = application(include_top=False, weights=None, input_shape=(*size, 3), pooling="avg")
    x = layers.Dropout(p["dropout"])(backbone(x))
    return keras.Model(inputs, layers.Dense(p["num_classes"], activation="softmax")(x))


# --- Synthetic batches of the recipes' shapes ---


def images(shape: tuple[int, ...], classes: int, batch: int, high: float) -> Callable:
    """Pixels uniform in [0, `high`): 1.0 after the data's rescale, 255 for raw images."""

    def make(rng):
        x = rng.uniform(0, high, (batch, *shape)).astype("float32")
        return x, rng.integers(0, classes, batch)

    return make


def tf_idf(vocabulary: int, batch: int, terms: int = 400) -> Callable:
    """Bags of `terms` weighted 1-grams and 2-grams each (a review of ~230 words)."""

    def make(rng):
        import numpy as np

        x = np.zeros((batch, vocabulary), "float32")
        rows = np.arange(batch)[:, None]
        x[rows, rng.integers(0, vocabulary, (batch, terms))] = rng.uniform(1, 10, (batch, terms))
        return x, rng.integers(0, 2, batch)

    return make


def token_ids(vocabulary: int, length: int, batch: int) -> Callable:
    """Token ids padded with 0 after a review length between 50 and `length` tokens."""

    def make(rng):
        import numpy as np

        x = rng.integers(1, vocabulary, (batch, length))
        x[np.arange(length)[None, :] >= rng.integers(50, length + 1, (batch, 1))] = 0
        return x, rng.integers(0, 2, batch)

    return make


@dataclass(frozen=True)
class Case:
    builder: str
    data: str  # what the synthetic batch stands for
    batch_size: int
    params: dict[str, Any]  # the builder's parameters, read by `plain` too
    plain: Callable[[dict[str, Any]], Any]
    batch: Callable  # rng → (x, y), one batch
    optimizer: tuple[str, dict[str, Any]] = ("Adam", {})


CASES = {
    "resnet": Case(
        "resnet",
        "CIFAR-10 (cifar10_resnet20): ResNet-20 on 32×32×3, batch 128",
        128,
        {"input_shape": (32, 32, 3), "num_classes": 10, "depth": 20, "width": 16, "l2": 5e-4},
        plain_resnet,
        images((32, 32, 3), 10, 128, high=1.0),
        ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ),
    "resnet9": Case(
        "resnet9",
        "CIFAR-10 (cifar10_resnet_short): ResNet-9 24-32-64-128 on 32×32×3, batch 256",
        256,
        {
            "input_shape": (32, 32, 3),
            "num_classes": 10,
            "widths": (24, 32, 64, 128),
            "residual": (0, 0, 2),
            "logit_scale": 0.125,
            "l2": 2.5e-4,
        },
        plain_resnet9,
        images((32, 32, 3), 10, 256, high=1.0),
        ("SGD", {"learning_rate": 0.2, "momentum": 0.9, "nesterov": True}),
    ),
    "text_bow": Case(
        "text_bow",
        "IMDB tf-idf (imdb_bow): 200,000 1-2-grams, batch 128",
        128,
        {"vocabulary_size": 200_000, "num_classes": 2, "dropout": 0.5, "normalize": True},
        plain_bow,
        tf_idf(200_000, 128),
        ("Adam", {"learning_rate": 0.1}),
    ),
    "text_transformer": Case(
        "text_transformer",
        "IMDB token ids (imdb_transformer): 320 tokens, 1 block 64 wide 4 heads, batch 64",
        64,
        {
            "vocabulary_size": 20_000,
            "sequence_length": 320,
            "num_classes": 2,
            "embedding_dim": 64,
            "num_heads": 4,
            "feedforward_dim": 128,
            "num_blocks": 1,
            "dropout": 0.3,
            "attention_dropout": 0.0,
            "pooling": "mean",
        },
        plain_transformer,
        token_ids(20_000, 320, 64),
        ("AdamW", {"learning_rate": 1e-3, "weight_decay": 0.01}),
    ),
    "video_r2plus1d": Case(
        "video_r2plus1d",
        "AdrenalMNIST3D (adrenalmnist3d_r2plus1d): 28³ clips, strided stem, 16-32-64, batch 32",
        32,
        {
            "input_shape": (28, 28, 28, 1),
            "num_classes": 2,
            "filters": (16, 32, 64),
            "stem_stride": 2,
            "dropout": 0.3,
            "rescale": 1 / 255,
        },
        plain_r2plus1d,
        images((28, 28, 28, 1), 2, 32, high=255.0),
        ("Adam", {"learning_rate": 2e-3}),
    ),
    "video_r2plus1d_moving_shapes": Case(
        "video_r2plus1d",
        "moving_shapes (moving_shapes_r2plus1d): 12×32×32 clips, 8-16-32, batch 32",
        32,
        {
            "input_shape": (12, 32, 32, 1),
            "num_classes": 4,
            "filters": (8, 16, 32),
            "dropout": 0.2,
            "rescale": 1 / 255,
        },
        plain_r2plus1d,
        images((12, 32, 32, 1), 4, 32, high=255.0),
        ("Adam", {"learning_rate": 3e-3}),
    ),
    "keras_applications": Case(
        "keras_applications",
        "CIFAR-10 images resized to 96×96: MobileNetV3Small from scratch, batch 64",
        64,
        {
            "input_shape": (32, 32, 3),
            "num_classes": 10,
            "architecture": "MobileNetV3Small",
            "image_size": (96, 96),
            "dropout": 0.2,
        },
        plain_application,
        # A small backbone: against it the builder's own layers (resizing, preprocessing,
        # head) weigh most, so a cost they add shows most.
        images((32, 32, 3), 10, 64, high=255.0),
    ),
}
BUILDERS = sorted({c.builder for c in CASES.values()})


def parameter_counts(model) -> dict[str, int]:
    def count(weights):
        return int(sum(math.prod(w.shape) for w in weights))

    return {
        "trainable": count(model.trainable_weights),
        "non_trainable": count(model.non_trainable_weights),
    }


def same_parameters(name: str, builder_model, plain_model) -> dict[str, int]:
    """The builder's counts; raises NotTheSameModel when the plain model's differ."""
    ours, plain = parameter_counts(builder_model), parameter_counts(plain_model)
    if ours != plain:
        raise NotTheSameModel(
            f"{name}: the plain Keras model is not the builder's ({plain} parameters against "
            f"the builder's {ours}): fix plain_* in tools/benchmark_builders.py before "
            "comparing their speed"
        )
    return ours


def same_outputs(name: str, builder_model, plain_model, x) -> float:
    """Copies the builder's weights into the plain model (they must line up, in the same
    order) and returns the largest difference of their predictions on `x`; raises
    NotTheSameModel above 1e-5: the same parameter counts could still be other models."""
    import numpy as np

    try:
        plain_model.set_weights(builder_model.get_weights())
    except ValueError as exc:
        raise NotTheSameModel(
            f"{name}: the builder's weights do not fit the plain Keras model in order ({exc})"
        ) from None
    ours = np.asarray(builder_model(x, training=False))
    diff = float(np.max(np.abs(ours - np.asarray(plain_model(x, training=False)))))
    if diff > 1e-5:
        raise NotTheSameModel(
            f"{name}: with the builder's weights the plain Keras model predicts otherwise "
            f"(max |difference| {diff:.3g}): not the same model"
        )
    return diff


def _models(case: Case):
    """(builder model, plain model), each from the same seed, compiled alike."""
    import keras

    from zoo import build_model

    out = []
    for make in (lambda: build_model(case.builder, **case.params), lambda: case.plain(case.params)):
        keras.utils.set_random_seed(SEED)
        model = make()
        name, kwargs = case.optimizer
        model.compile(
            optimizer=getattr(keras.optimizers, name)(**kwargs),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        out.append(model)
    return tuple(out)


def check(name: str, case: Case) -> dict[str, Any]:
    """Build both models; compare their parameter counts, then their predictions with
    the same weights on a few examples (no training). Raises NotTheSameModel."""
    import keras
    import numpy as np

    builder_model, plain_model = _models(case)
    same_parameters(name, builder_model, plain_model)
    x, _ = case.batch(np.random.default_rng(SEED))
    out = {
        "parameters": {
            "builder": parameter_counts(builder_model),
            "plain": parameter_counts(plain_model),
        },
        "max_output_difference": same_outputs(name, builder_model, plain_model, x[:8]),
    }
    keras.backend.clear_session()
    return out


def measure(name: str, case: Case, steps: int, repeats: int) -> dict[str, Any]:
    import keras
    import numpy as np
    import tensorflow as tf

    builder_model, plain_model = _models(case)
    same_parameters(name, builder_model, plain_model)  # Whatever the caller checked.
    x, y = case.batch(np.random.default_rng(SEED))
    data = tf.data.Dataset.from_tensors((x, y)).repeat()  # The same batch, in memory.
    models = {"builder": builder_model, "plain": plain_model}
    for model in models.values():
        model.fit(data, epochs=1, steps_per_epoch=WARMUP_STEPS, shuffle=False, verbose=0)
    rates: dict[str, list[float]] = {"builder": [], "plain": []}
    for _ in range(repeats):  # Alternate, so drift on a shared machine hits both.
        for side, model in models.items():
            clock = EpochClock()
            model.fit(
                data, epochs=1, steps_per_epoch=steps, callbacks=[clock], shuffle=False, verbose=0
            )
            rates[side].append(_steady_rate(clock, case.batch_size * steps))
    keras.backend.clear_session()
    builder_rate = statistics.median(rates["builder"])
    plain_rate = statistics.median(rates["plain"])
    return {
        "builder": case.builder,
        "data": case.data,
        "batch_size": case.batch_size,
        "input_shape": list(x.shape[1:]),
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in case.params.items()},
        "optimizer": case.optimizer[0],
        "builder_examples_per_s": builder_rate,
        "plain_examples_per_s": plain_rate,
        # Time per example, builder over plain: above 1, the builder is slower.
        "ratio": plain_rate / builder_rate,
        "target": TARGET,
        "paired_ratios": [p / b for b, p in zip(rates["builder"], rates["plain"], strict=True)],
        "builder_runs_examples_per_s": rates["builder"],
        "plain_runs_examples_per_s": rates["plain"],
    }


def _table(results: dict[str, Any]) -> str:
    header = ("case", "parameters", "builder ex/s", "plain ex/s", f"ratio ({TARGET})")
    rows = [header]
    for name, r in results.items():
        params = sum(r["parameters"]["builder"].values())
        rows.append(
            (
                name,
                f"{params:,}",
                f"{r['builder_examples_per_s']:.1f}",
                f"{r['plain_examples_per_s']:.1f}",
                f"{r['ratio']:.3f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines += [f"  {name}: {r['data']}" for name, r in results.items()]
    return "\n".join(lines)


def _chosen(spec: str) -> list[str] | str:
    """Case names for a comma-separated list of builders or cases, or an error line."""
    wanted = [w.strip() for w in spec.split(",") if w.strip()]
    unknown = sorted(set(wanted) - set(BUILDERS) - set(CASES))
    if unknown:
        return (
            f"error: unknown builder(s) {', '.join(unknown)}; choose from {', '.join(BUILDERS)}"
            f" (or a case: {', '.join(CASES)})"
        )
    return [n for n, c in CASES.items() if n in wanted or c.builder in wanted]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--builders",
        default=",".join(BUILDERS),
        help=f"comma-separated, from: {', '.join(BUILDERS)} (default: all)",
    )
    p.add_argument("--steps", type=int, default=10, help="training steps per timed fit")
    p.add_argument("--repeats", type=int, default=5, help="timed fits of each model, alternated")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    chosen = _chosen(args.builders)
    if isinstance(chosen, str):
        print(chosen, file=sys.stderr)
        return 2
    if args.steps < 1 or args.repeats < 1:
        print("error: --steps and --repeats must be at least 1", file=sys.stderr)
        return 2
    from zoo.logs import quiet_tensorflow

    quiet_tensorflow()  # Start-up lines held back as the zoo command does; a set level wins.
    try:
        # Every pair first: a mismatch stops the tool before any timing.
        results = {name: check(name, CASES[name]) for name in chosen}
        for name in chosen:
            start = time.perf_counter()
            results[name].update(measure(name, CASES[name], args.steps, args.repeats))
            print(f"[{name}: {time.perf_counter() - start:.0f} s]", file=sys.stderr, flush=True)
    except NotTheSameModel as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    import keras

    machine_line = f"{machine()}, Keras {keras.__version__} ({keras.backend.backend()})"
    print(f"machine: {machine_line}; {args.steps} steps × {args.repeats} repeats")
    print(_table(results))
    if args.json:
        payload = {
            "machine": machine_line,
            "steps": args.steps,
            "repeats": args.repeats,
            "warmup_steps": WARMUP_STEPS,
            "results": results,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
