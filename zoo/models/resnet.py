"""Residual image classifiers with pre-activation blocks (He et al. 2016, "Identity
Mappings in Deep Residual Networks").

Pre-activation (BN → ReLU → conv) keeps the shortcut path a pure identity from input to
output, which is what lets the deep CIFAR variants (ResNet-56, -110) train as easily as
the shallow ones. Depth and width are free so the CPU budget, not the code, picks the
size: measure before choosing (recipes/cifar10_resnet20.yaml records the measurement).
"""

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from zoo.models._types import (
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    Rate,
    Scale,
    Shape,
    Widths,
)
from zoo.models.registry import enforce, register_model

if TYPE_CHECKING:
    import keras


def blocks_per_stage(depth: int, stages: int) -> int:
    """Blocks in each stage of a `depth`-layer net: depth = 2 × stages × n + 2 (6n+2 for
    the 3-stage CIFAR nets: 20, 32, 44, 56, 110)."""
    if depth < 2 * stages + 2 or (depth - 2) % (2 * stages):
        valid = ", ".join(str(2 * stages * n + 2) for n in (1, 2, 3, 5, 9))
        raise ValueError(
            f"resnet depth {depth} does not fit {stages} stages of two-conv blocks: depth "
            f"must be 2 × stages × n + 2, e.g. {valid}"
        )
    return (depth - 2) // (2 * stages)


def _depth_fits_stages(params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    try:
        blocks_per_stage(params["depth"], params["stages"])
    except ValueError as exc:
        yield "depth", str(exc)


@register_model(task="classification", rules=_depth_fits_stages)
def resnet(
    *,
    input_shape: Shape = (32, 32, 3),
    num_classes: PositiveInt = 10,
    depth: PositiveInt = 20,
    width: PositiveInt = 16,
    stages: PositiveInt = 3,
    stem: Literal["cifar", "imagenet"] = "cifar",
    l2: NonNegativeFloat = 0.0,
    dropout: Rate = 0.0,
    rescale: Scale | None = None,
) -> "keras.Model":
    """A pre-activation ResNet (He et al. 2016, "Identity Mappings in Deep Residual
    Networks"): ResNet-20/56/110 on CIFAR by default, wider or with an ImageNet stem on
    request.

    `stem`: "cifar" is one 3×3 conv (`width` filters) at full resolution, for 32×32
    images; "imagenet" is a 7×7 stride-2 conv then 3×3 stride-2 max pooling, for larger
    images. Then `stages` stages of n blocks each (depth = 2 × stages × n + 2), filters
    `width` × 2^stage, the first block of each later stage halving the resolution. A
    block is BN → ReLU → Conv 3×3 → BN → ReLU → Conv 3×3 added to its input; where the
    shape changes the shortcut is a 1×1 conv of the pre-activated input, as in the paper.
    A final BN → ReLU (the last block's output is not yet normalised) → global average
    pooling → optional Dropout → softmax. `l2` is an L2 penalty on every conv and dense
    kernel (the paper's 1e-4 to 5e-4 under SGD); leave it 0 when the optimizer decays
    weights instead. `rescale` adds a Rescaling layer in front (None when
    `data.image.rescale` already does). ResNet-20 at width 16 has 0.27 M parameters.
    """
    import keras

    layers = keras.layers
    n = blocks_per_stage(depth, stages)
    regularizer = keras.regularizers.L2(l2) if l2 else None

    def conv(filters: int, size: int, stride: int, name: str):
        return layers.Conv2D(
            filters,
            size,
            strides=stride,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=regularizer,
            name=name,
        )

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(rescale, name="rescale")(inputs) if rescale else inputs
    if stem == "cifar":
        x = conv(width, 3, 1, "stem_conv")(x)
    else:
        x = conv(width, 7, 2, "stem_conv")(x)
        x = layers.BatchNormalization(name="stem_bn")(x)
        x = layers.Activation("relu", name="stem_relu")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for s in range(stages):
        filters = width * 2**s
        for b in range(n):
            name = f"stage{s + 1}_block{b + 1}"
            stride = 2 if s > 0 and b == 0 else 1
            pre = layers.BatchNormalization(name=f"{name}_bn1")(x)
            pre = layers.Activation("relu", name=f"{name}_relu1")(pre)
            if stride != 1 or x.shape[-1] != filters:
                shortcut = conv(filters, 1, stride, f"{name}_shortcut")(pre)
            else:
                shortcut = x
            y = conv(filters, 3, stride, f"{name}_conv1")(pre)
            y = layers.BatchNormalization(name=f"{name}_bn2")(y)
            y = layers.Activation("relu", name=f"{name}_relu2")(y)
            y = conv(filters, 3, 1, f"{name}_conv2")(y)
            x = layers.Add(name=f"{name}_add")([shortcut, y])
    x = layers.BatchNormalization(name="final_bn")(x)
    x = layers.Activation("relu", name="final_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(
        num_classes,
        activation="softmax",
        kernel_regularizer=regularizer,
        name="predictions",
        dtype="float32",
    )(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")


def _residual_fits_widths(params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    residual, widths = params["residual"], params["widths"]
    if len(residual) != len(widths) - 1:
        yield (
            "residual",
            f"resnet9 residual has {len(residual)} entries for {len(widths) - 1} stages: "
            "give one count of residual convs per width after the first (the prep conv)",
        )


@register_model(task="classification", rules=_residual_fits_widths)
def resnet9(
    *,
    input_shape: Shape = (32, 32, 3),
    num_classes: PositiveInt = 10,
    widths: Widths = (64, 128, 256, 512),
    residual: tuple[NonNegativeInt, ...] = (2, 0, 2),
    logit_scale: Scale = 0.125,
    l2: NonNegativeFloat = 0.0,
    dropout: Rate = 0.0,
    rescale: Scale | None = None,
) -> "keras.Model":
    """ResNet-9, the fast-training residual net of Page 2018 ("How to Train Your ResNet",
    the DAWNBench CIFAR-10 winner), with the CPU-cheap stem and pooling order of Jordan
    2024 ("94% on CIFAR-10 in 3.29 seconds", airbench): for good figures on short schedules.

    Why not ResNet-20 for that: a deep thin net spends its time in narrow convs at full
    resolution, which a CPU runs at a third of its conv throughput; this one halves the
    resolution in every stage and works at width, so it learns more per second
    (recipes/cifar10_resnet_short.yaml has the measurement).

    A 2×2 'valid' prep conv (`widths[0]` filters, bias, ReLU, no normalisation: airbench's
    patch stem, 1.5× faster to train here than a 3×3 conv with BN at full resolution);
    then one stage per further width: Conv 3×3 → MaxPool 2×2 → BN → ReLU (pooling before
    the normalisation: the same function at a quarter of the BN cost), plus a residual
    branch of `residual[stage]` × (Conv 3×3 → BN → ReLU) added to it (0: none). Then
    global max pooling → optional Dropout → Dense → logits scaled by `logit_scale`
    (Page's 0.125, which keeps early softmax outputs soft) → softmax. The defaults are
    Page's net: widths 64-128-256-512, two-conv branches after stages 1 and 3, 6.6 M
    parameters. `l2` penalises every kernel; `rescale` adds a Rescaling layer in front.
    """
    import keras

    layers = keras.layers
    enforce(_residual_fits_widths, residual=residual, widths=widths)
    regularizer = keras.regularizers.L2(l2) if l2 else None

    def conv(filters: int, name: str, size: int = 3, **kwargs):
        return layers.Conv2D(
            filters,
            size,
            kernel_initializer="he_normal",
            kernel_regularizer=regularizer,
            name=name,
            **kwargs,
        )

    def conv_bn(x, filters: int, name: str, pool: bool = False):
        x = conv(filters, f"{name}_conv", padding="same", use_bias=False)(x)
        if pool:
            x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.Activation("relu", name=f"{name}_relu")(x)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(rescale, name="rescale")(inputs) if rescale else inputs
    x = conv(widths[0], "prep_conv", size=2, padding="valid")(x)
    x = layers.Activation("relu", name="prep_relu")(x)
    for s, (filters, convs) in enumerate(zip(widths[1:], residual, strict=True)):
        name = f"stage{s + 1}"
        x = conv_bn(x, filters, name, pool=True)
        if convs:
            y = x
            for c in range(convs):
                y = conv_bn(y, filters, f"{name}_res{c + 1}")
            x = layers.Add(name=f"{name}_add")([x, y])
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, kernel_regularizer=regularizer, name="logits")(x)
    x = layers.Rescaling(logit_scale, name="logit_scale")(x)
    outputs = layers.Activation("softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="resnet9")
