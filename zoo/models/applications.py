"""Any `keras.applications` image model by name, with a new classification head.

The catalogue the anchors are known by (ResNet50V2, EfficientNetV2B0, MobileNetV3Small,
ConvNeXtTiny, ...) without writing each one again: the builder adapts the input (size,
grey channels, the family's own pixel preprocessing) and replaces the ImageNet top.
ImageNet weights are downloaded by Keras on first use (into ~/.keras/models, or
$KERAS_HOME/models), so `backbone_weights: imagenet` needs the internet or that file in place;
a failed download is one zoo error naming the file and the way round it.
"""

from typing import TYPE_CHECKING, Annotated, Literal

from annotated_types import Len

from zoo.errors import ZooError, did_you_mean
from zoo.models._types import PositiveInt, Rate, Shape
from zoo.models.registry import register_model

if TYPE_CHECKING:
    import keras

ImageSize = Annotated[tuple[PositiveInt, ...], Len(min_length=2, max_length=2)]


def architectures() -> list[str]:
    """The model names keras.applications offers (its capitalised callables)."""
    import keras

    apps = keras.applications
    return sorted(n for n in dir(apps) if n[:1].isupper() and callable(getattr(apps, n)))


def _application(architecture: str):
    import keras

    names = architectures()
    if architecture not in names:
        raise ZooError(
            f"keras_applications has no architecture {architecture!r}."
            + did_you_mean(architecture, names)
            + f" keras.applications offers: {', '.join(names)}."
        )
    return getattr(keras.applications, architecture)


def _backbone(application, architecture: str, weights: str | None, shape: tuple[int, ...]):
    try:
        return application(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    except Exception as exc:  # Keras's get_file raises a bare Exception on a failed fetch.
        if weights is None or "URL fetch failure" not in str(exc):
            raise
        raise ZooError(
            f"Cannot download the ImageNet weights of {architecture} ({exc}). Keras keeps "
            "them in ~/.keras/models (or $KERAS_HOME/models): with no internet here, copy "
            "the file named in that address there, or train from scratch with "
            "model.params.backbone_weights: null."
        ) from None


@register_model(task="classification")
def keras_applications(
    *,
    input_shape: Shape = (224, 224, 3),
    num_classes: PositiveInt = 10,
    architecture: str = "ResNet50V2",
    backbone_weights: Literal["imagenet"] | None = None,
    image_size: ImageSize | None = None,
    dropout: Rate = 0.2,
    freeze_backbone: bool = False,
) -> "keras.Model":
    """A `keras.applications` model (`architecture`, e.g. ResNet50V2, EfficientNetV2B0,
    MobileNetV3Small, ConvNeXtTiny) without its ImageNet top, then Dropout → softmax.

    Takes raw 0–255 images. In front of the backbone: grey images (1 channel) are
    repeated to 3 channels (ImageNet models are RGB); `image_size` (height, width)
    resizes inside the model (bilinear), for images smaller than the family's minimum
    (32×32 for most) or to the size its weights were trained at; then the family's own
    `preprocess_input`. `backbone_weights`: "imagenet" (downloaded by Keras on first use)
    or None (random, trained from scratch); not `weights`, which `build_model` keeps for
    loading a zoo preset. `freeze_backbone` keeps the backbone's weights fixed
    and runs its batch norm in inference mode, for fine-tuning a small head first.
    """
    import keras

    from zoo.models.layers import ApplicationPreprocess

    layers = keras.layers
    application = _application(architecture)
    channels = input_shape[-1]
    if channels not in (1, 3) and backbone_weights is not None:
        raise ZooError(
            f"keras_applications with ImageNet weights takes RGB or grey images; these have "
            f"{channels} channels. Use backbone_weights: null, or read them as rgb (color_mode)."
        )
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if channels == 1:
        x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
    if image_size is not None:
        x = layers.Resizing(*image_size, name="resize")(x)
    module = application.__module__.rsplit(".", 1)[-1]
    x = ApplicationPreprocess(module, name="preprocess")(x)
    backbone = _backbone(application, architecture, backbone_weights, tuple(x.shape[1:]))
    backbone.trainable = not freeze_backbone
    x = backbone(x, training=False) if freeze_backbone else backbone(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(
        x
    )
    return keras.Model(inputs, outputs, name=f"keras_applications_{architecture.lower()}")
