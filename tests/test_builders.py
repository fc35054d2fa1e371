"""Every builder on a small batch: output shapes, options, and the documented CNN's size."""

import numpy as np
import pytest

from zoo import build_model
from zoo.errors import RegistryError


def _trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_mnist_cnn_has_exactly_the_documented_parameter_count():
    model = build_model("mnist_cnn")
    assert model.input_shape == (None, 28, 28, 1)
    assert _trainable(model) == 225_034
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "InputLayer",
        "Rescaling",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dense",
    ]


def test_mnist_cnn_takes_raw_uint8_pixels():
    model = build_model("mnist_cnn")
    raw = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    scaled = build_model("mnist_cnn", rescale=None)
    scaled.set_weights(model.get_weights())
    np.testing.assert_allclose(
        model.predict(raw, verbose=0),
        scaled.predict(raw.astype("float32") / 255, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    ("name", "params", "batch"),
    [
        ("mlp", {"input_shape": (8,), "num_classes": 3, "rescale": None}, (4, 8)),
        ("mlp", {"hidden_units": (16,), "dropout": 0.0}, (4, 28, 28, 1)),
        ("mnist_cnn", {"num_classes": 5}, (4, 28, 28, 1)),
        ("mnist_cnn", {"input_shape": (32, 32, 3)}, (4, 32, 32, 3)),
        ("text_rnn", {"vocabulary_size": 50, "num_classes": 3, "cell": "lstm"}, (4, 12)),
        (
            "text_rnn",
            {"vocabulary_size": 50, "cell": "gru", "units": (8, 8), "bidirectional": False},
            (4, 12),
        ),
        ("text_rnn", {"vocabulary_size": 50, "cell": "simple_rnn", "sequence_length": 12}, (4, 12)),
        ("text_rnn", {"vocabulary_size": 50, "units": (8,), "pooling": "max"}, (4, 12)),
        (
            "text_rnn",
            {"vocabulary_size": 50, "units": (8,), "pooling": "max_mean", "embedding_dropout": 0.2},
            (4, 12),
        ),
        ("text_rnn", {"vocabulary_size": 50, "units": (8, 4), "pooling": "mean"}, (4, 12)),
        ("cnn", {"num_classes": 10}, (4, 32, 32, 3)),
        ("text_bow", {"vocabulary_size": 50, "num_classes": 3}, (4, 50)),
        ("text_bow", {"vocabulary_size": 50, "hidden_units": (8,), "l2": 1e-4}, (4, 50)),
        ("text_transformer", {"vocabulary_size": 50, "sequence_length": 12}, (4, 12)),
        (
            "text_transformer",
            {"vocabulary_size": 50, "sequence_length": 12, "num_blocks": 2, "pooling": "max"},
            (4, 12),
        ),
        ("resnet", {"num_classes": 10}, (2, 32, 32, 3)),
        (
            "resnet",
            {"input_shape": (16, 16, 3), "depth": 8, "width": 4, "l2": 1e-4, "dropout": 0.2},
            (2, 16, 16, 3),
        ),
        (
            "resnet",
            {"input_shape": (64, 64, 1), "depth": 10, "width": 4, "stages": 4, "stem": "imagenet"},
            (2, 64, 64, 1),
        ),
        (
            "cnn",
            {"input_shape": (16, 16, 1), "filters": (4,), "batch_norm": False, "dense_units": 0},
            (4, 16, 16, 1),
        ),
        (
            "video_cnn",
            {"input_shape": (8, 16, 16, 1), "num_classes": 4, "filters": (4, 8)},
            (2, 8, 16, 16, 1),
        ),
        (
            "video_cnn",
            {
                "input_shape": (8, 16, 16, 3),
                "num_classes": 4,
                "filters": (4, 8),
                "factorised": True,
            },
            (2, 8, 16, 16, 3),
        ),
        (
            "video_r2plus1d",
            {"input_shape": (8, 16, 16, 1), "num_classes": 4, "filters": (4, 8)},
            (2, 8, 16, 16, 1),
        ),
        (
            "video_r2plus1d",
            {
                "input_shape": (6, 16, 16, 3),
                "filters": (4, 8, 8),
                "blocks_per_stage": 2,
                "temporal_downsample": False,
            },
            (2, 6, 16, 16, 3),
        ),
        (
            "frame_average_cnn",
            {"input_shape": (6, 16, 16, 1), "num_classes": 4, "filters": (4, 8), "units": 8},
            (2, 6, 16, 16, 1),
        ),
    ],
)
def test_output_shape_and_probabilities(name, params, batch):
    model = build_model(name, **params)
    rng = np.random.default_rng(0)
    tokens = name in ("text_rnn", "text_transformer")
    x = rng.integers(0, 50, batch) if tokens else rng.random(batch, dtype="float32")
    y = model.predict(x, verbose=0)
    default_classes = 2 if name.startswith("text_") else 10
    assert y.shape == (batch[0], params.get("num_classes", default_classes))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_factorised_video_cnn_uses_spatial_and_temporal_kernels():
    plain = build_model("video_cnn", input_shape=(8, 16, 16, 3), filters=(8,))
    factorised = build_model("video_cnn", input_shape=(8, 16, 16, 3), filters=(8,), factorised=True)
    kernels = {
        layer.name: layer.kernel.shape
        for layer in factorised.layers
        if type(layer).__name__ == "Conv3D"
    }
    assert kernels == {"block_0_spatial": (1, 3, 3, 3, 8), "block_0_temporal": (3, 1, 1, 8, 8)}
    assert [layer.kernel.shape for layer in plain.layers if type(layer).__name__ == "Conv3D"] == [
        (3, 3, 3, 3, 8)
    ]


@pytest.mark.parametrize(("depth", "stages"), [(20, 3), (56, 3), (18, 4)])
def test_resnet_depth_counts_its_weighted_layers(depth, stages):
    """Depth as the paper counts it: the stem conv, two 3×3 convs per block and the dense
    head; 1×1 projection shortcuts (one per stage that changes shape) are not counted."""
    model = build_model("resnet", depth=depth, stages=stages, width=4)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    shortcuts = [layer for layer in convs if layer.name.endswith("_shortcut")]
    assert len(shortcuts) == stages - 1
    assert all(layer.kernel.shape[:2] == (1, 1) for layer in shortcuts)
    assert len(convs) - len(shortcuts) + 1 == depth
    final = [layer for layer in convs if layer.name.endswith("_conv2")][-1]
    assert final.kernel.shape[-1] == 4 * 2 ** (stages - 1)


def test_resnet_refuses_a_depth_its_stages_cannot_hold():
    from zoo.models.resnet import resnet

    with pytest.raises(RegistryError, match=r"depth: resnet depth 21 .* e\.g\. 8, 14, 20, 32"):
        build_model("resnet", depth=21)
    with pytest.raises(ValueError, match=r"depth 21 .* e\.g\. 8, 14, 20, 32, 56"):
        resnet(depth=21)


def test_resnet_imagenet_stem_quarters_the_resolution():
    model = build_model("resnet", input_shape=(64, 64, 3), depth=8, width=4, stem="imagenet")
    assert model.get_layer("stem_pool").output.shape[1:3] == (16, 16)
    assert model.get_layer("final_relu").output.shape[1:] == (4, 4, 16)


def test_resnet9_halves_resolution_per_stage_and_adds_residuals_where_asked():
    """Page's layout by default (residual branches after stages 1 and 3, 6.58 M
    parameters); the 2×2 'valid' patch stem makes 32×32 into 31×31, then each stage pools."""
    default = build_model("resnet9")
    assert default.count_params() == 6_576_458
    assert [layer.name for layer in default.layers if type(layer).__name__ == "Add"] == [
        "stage1_add",
        "stage3_add",
    ]
    small = build_model("resnet9", widths=(4, 8, 16, 32), residual=(0, 1, 2))
    assert small.get_layer("prep_conv").output.shape[1:] == (31, 31, 4)
    sizes = [small.get_layer(f"stage{s}_relu").output.shape[1:] for s in (1, 2, 3)]
    assert sizes == [(15, 15, 8), (7, 7, 16), (3, 3, 32)]
    assert [layer.name for layer in small.layers if type(layer).__name__ == "Add"] == [
        "stage2_add",
        "stage3_add",
    ]
    branch = [layer.name for layer in small.layers if "_res" in layer.name and "conv" in layer.name]
    assert branch == ["stage2_res1_conv", "stage3_res1_conv", "stage3_res2_conv"]


def test_resnet9_refuses_residual_flags_that_do_not_match_its_stages():
    """Through the registry (a user error naming the parameter, before anything is
    built) and called directly (the builder enforces its registered rule)."""
    from zoo.models.resnet import resnet9

    with pytest.raises(RegistryError, match="residual: resnet9 residual has 2 entries for 1"):
        build_model("resnet9", widths=(8, 16), residual=(2, 2))
    with pytest.raises(ValueError, match="residual has 2 entries for 1 stages"):
        resnet9(widths=(8, 16), residual=(2, 2))


@pytest.mark.parametrize("pooling", ["mean", "max_mean"])
def test_text_transformer_masks_padding_in_attention(pooling):
    """The same text padded to 6 and to 3 tokens, through the same weights (the position
    table cut to 3 rows): identical outputs only if padding is masked in attention (and
    in mean pooling). Max pooling reads padded positions, so max_mean must differ."""
    params = {"vocabulary_size": 20, "embedding_dim": 8, "num_heads": 2, "pooling": pooling}
    long = build_model("text_transformer", sequence_length=6, num_blocks=2, **params)
    short = build_model("text_transformer", sequence_length=3, num_blocks=2, **params)
    for layer in short.layers:
        weights = long.get_layer(layer.name).get_weights()
        if layer.name == "position_embedding":
            weights = [weights[0][:3]]
        layer.set_weights(weights)
    padded = long.predict(np.array([[5, 6, 7, 0, 0, 0]]), verbose=0)
    unpadded = short.predict(np.array([[5, 6, 7]]), verbose=0)
    if pooling == "mean":
        np.testing.assert_allclose(padded, unpadded, rtol=1e-5, atol=1e-6)
    else:
        assert not np.allclose(padded, unpadded, rtol=1e-5, atol=1e-6)


def test_text_transformer_refuses_heads_that_do_not_divide_the_width():
    from zoo.models.transformer import text_transformer

    with pytest.raises(RegistryError, match="embedding_dim 10 must divide by num_heads 3"):
        build_model("text_transformer", embedding_dim=10, num_heads=3)
    with pytest.raises(ValueError, match="embedding_dim 10 must divide by num_heads 3"):
        text_transformer(embedding_dim=10, num_heads=3)


@pytest.mark.parametrize("attention_dropout", [0.0, 0.5])
def test_text_transformer_drops_attention_probabilities_only_when_asked(attention_dropout):
    """`attention_dropout` alone (every other dropout 0) decides whether two training-mode
    calls on the same tokens differ; inference is deterministic either way."""
    model = build_model(
        "text_transformer",
        vocabulary_size=20,
        sequence_length=6,
        embedding_dim=8,
        num_heads=2,
        dropout=0.0,
        attention_dropout=attention_dropout,
    )
    tokens = np.array([[5, 6, 7, 8, 9, 0]] * 4)
    first, second = (model(tokens, training=True).numpy() for _ in range(2))
    assert np.allclose(first, second) == (attention_dropout == 0.0)
    np.testing.assert_array_equal(model(tokens).numpy(), model(tokens).numpy())


def test_text_bow_is_linear_by_default_and_normalises_bags():
    model = build_model("text_bow", vocabulary_size=30, dropout=0.0)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "BagDense"]
    bag = np.random.default_rng(0).random((2, 30), dtype="float32")
    np.testing.assert_allclose(  # Unit length first: a bag's scale does not matter.
        model.predict(bag, verbose=0), model.predict(5 * bag, verbose=0), rtol=1e-5
    )
    deep = build_model("text_bow", vocabulary_size=30, hidden_units=(8, 4), normalize=False)
    assert [layer.units for layer in deep.layers if hasattr(layer, "units")] == [8, 4, 2]


def test_r2plus1d_factorises_every_conv_with_the_papers_parameter_budget():
    """Every 3×3×3 conv is a 1×3×3 spatial conv to M channels then a 3×1×1 temporal one,
    M chosen (Tran et al. 2018) so the pair has no more weights than the 3D conv."""
    from zoo.models.r2plus1d import mid_channels

    model = build_model("video_r2plus1d", input_shape=(8, 16, 16, 3), filters=(8, 16))
    convs = {layer.name: layer for layer in model.layers if type(layer).__name__ == "Conv3D"}
    spatial = [n for n in convs if n.endswith("_spatial")]
    assert len(spatial) == 5  # stem + 2 blocks × 2 convs
    for name in spatial:
        s, t = convs[name], convs[name.replace("_spatial", "_temporal")]
        assert s.kernel.shape[:3] == (1, 3, 3) and t.kernel.shape[:3] == (3, 1, 1)
        n_in, n_out = s.kernel.shape[3], t.kernel.shape[4]
        assert s.kernel.shape[4] == mid_channels(n_in, n_out, 3, 3)
        factorised = 9 * n_in * s.kernel.shape[4] + 3 * s.kernel.shape[4] * n_out
        assert 27 * n_in * n_out - factorised < 9 * n_in + 3 * n_out  # at most one M short
    assert mid_channels(64, 64, 3, 3) == 144  # The paper's first stage of R(2+1)D-18.
    # The second stage halves time and space.
    assert model.get_layer("stage2_block1_relu2").output.shape[1:] == (4, 8, 8, 16)
    # A strided stem (the paper's 1×2×2) halves space, not time, before the first stage.
    strided = build_model(
        "video_r2plus1d", input_shape=(8, 16, 16, 3), filters=(8, 16), stem_stride=2
    )
    assert strided.get_layer("stage1_block1_relu2").output.shape[1:] == (8, 8, 8, 8)
    assert strided.count_params() == model.count_params()  # Only the activations shrink.


def test_text_rnn_masks_padding():
    model = build_model("text_rnn", vocabulary_size=20, units=(4,), dropout=0.0)
    seq = np.array([[5, 6, 7, 0, 0, 0]])
    shorter = np.array([[5, 6, 7]])
    np.testing.assert_allclose(
        model.predict(seq, verbose=0), model.predict(shorter, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_builders_use_no_tensorflow_directly():
    """Every module that registers a builder is pure Keras (any backend). zoo/models/layers.py
    is exempt: its preprocessing layers (string cleaning, frame sampling) run inside exported
    TensorFlow graphs and need tf.strings, which keras.ops does not have."""
    from pathlib import Path

    import zoo.models

    builder_modules = [
        path
        for path in Path(zoo.models.__file__).parent.glob("*.py")
        if "@register_model" in path.read_text()
    ]
    assert len(builder_modules) >= 4  # mlp, cnn, text, video
    for path in builder_modules:
        text = path.read_text()
        assert "import tensorflow" not in text and "tf." not in text, path.name
