"""(2+1)D residual networks for clips (Tran et al. 2018, "A Closer Look at
Spatiotemporal Convolutions for Action Recognition").

Each 3D convolution t×d×d is factorised into a spatial 1×d×d convolution to M channels,
batch norm and ReLU, then a temporal t×1×1 convolution: twice the non-linearities of a
3D conv for the same parameters (M is chosen so, as in the paper), and easier to
optimise. Residual blocks let it go deeper than `video_cnn`, and only strided
convolutions downsample (no 3D max pooling, which some export formats lack).
"""

from typing import TYPE_CHECKING

from zoo.models._types import PositiveInt, Rate, Scale, Shape, Widths
from zoo.models.registry import register_model

if TYPE_CHECKING:
    import keras


def mid_channels(in_channels: int, out_channels: int, t: int, d: int) -> int:
    """The paper's M_i = ⌊t·d²·N_{i−1}·N_i / (d²·N_{i−1} + t·N_i)⌋: the (2+1)D pair then has
    as many weights as the t×d×d 3D convolution it replaces."""
    return max(
        1, (t * d * d * in_channels * out_channels) // (d * d * in_channels + t * out_channels)
    )


@register_model(task="classification")
def video_r2plus1d(
    *,
    input_shape: Shape = (16, 64, 64, 3),
    num_classes: PositiveInt = 10,
    filters: Widths = (16, 32, 64),
    blocks_per_stage: PositiveInt = 1,
    temporal_kernel: PositiveInt = 3,
    spatial_kernel: PositiveInt = 3,
    temporal_downsample: bool = True,
    stem_stride: PositiveInt = 1,
    dropout: Rate = 0.2,
    rescale: Scale | None = 1 / 255,
    batch_norm_momentum: Rate = 0.9,
) -> "keras.Model":
    """An R(2+1)D network (Tran et al. 2018): a (2+1)D stem, one stage of
    `blocks_per_stage` residual blocks per entry of `filters`, global average pooling,
    Dropout, softmax.

    A block is (2+1)D conv → BN → ReLU → (2+1)D conv → BN, added to its input (through a
    strided 1×1×1 conv + BN where the shape changes), then ReLU. Every stage after the
    first halves height and width, and also time when `temporal_downsample`. Small
    defaults for small clips (the paper's R(2+1)D-18 is filters 64-128-256-512, 2 blocks
    each, on 112×112 frames). `batch_norm_momentum` 0.9 (Keras: 0.99) lets the moving
    statistics settle in the few hundred steps small video datasets give, as in
    `video_cnn`. `rescale` 1/255 lets it take raw uint8 clips. `stem_stride` strides
    the stem's spatial convolution (the paper's stem: 1×2×2), so the first stage runs at
    a quarter of the pixels with 2: on 28×28×28 volumes most of the cost is there.
    """
    import keras

    layers = keras.layers
    t, d = temporal_kernel, spatial_kernel

    def bn(name: str):
        return layers.BatchNormalization(momentum=batch_norm_momentum, name=name)

    def conv2plus1d(x, filters: int, stride: tuple[int, int], name: str):
        mid = mid_channels(x.shape[-1], filters, t, d)
        x = layers.Conv3D(
            mid,
            (1, d, d),
            strides=(1, stride[1], stride[1]),
            padding="same",
            use_bias=False,
            name=f"{name}_spatial",
        )(x)
        x = bn(f"{name}_spatial_bn")(x)
        x = layers.ReLU(name=f"{name}_spatial_relu")(x)
        return layers.Conv3D(
            filters,
            (t, 1, 1),
            strides=(stride[0], 1, 1),
            padding="same",
            use_bias=False,
            name=f"{name}_temporal",
        )(x)

    inputs = keras.Input(shape=input_shape, name="clip")
    x = layers.Rescaling(rescale, name="rescale")(inputs) if rescale else inputs
    x = conv2plus1d(x, filters[0], (1, stem_stride), "stem")
    x = bn("stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for s, width in enumerate(filters):
        for b in range(blocks_per_stage):
            name = f"stage{s + 1}_block{b + 1}"
            down = s > 0 and b == 0
            stride = (2 if down and temporal_downsample else 1, 2 if down else 1)
            y = conv2plus1d(x, width, stride, f"{name}_conv1")
            y = bn(f"{name}_bn1")(y)
            y = layers.ReLU(name=f"{name}_relu1")(y)
            y = conv2plus1d(y, width, (1, 1), f"{name}_conv2")
            y = bn(f"{name}_bn2")(y)
            shortcut = x
            if down or x.shape[-1] != width:
                shortcut = layers.Conv3D(
                    width,
                    1,
                    strides=(stride[0], stride[1], stride[1]),
                    use_bias=False,
                    name=f"{name}_shortcut",
                )(x)
                shortcut = bn(f"{name}_shortcut_bn")(shortcut)
            x = layers.Add(name=f"{name}_add")([shortcut, y])
            x = layers.ReLU(name=f"{name}_relu2")(x)
    x = layers.GlobalAveragePooling3D(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name="video_r2plus1d")
