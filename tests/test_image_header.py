"""Image sizes read from file headers, before decoding: decompression bombs are refused by
the `decoded_pixels` limit, and GIFs a colour mode cannot read are named as such."""

import struct
import zlib

import pytest
from PIL import Image

from zoo.config.schema import DirectoryData
from zoo.data import load
from zoo.data.image_header import check_image_file, read_header
from zoo.errors import DataError


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        (".png", {}),
        (".jpg", {}),
        (".jpg", {"progressive": True}),
        (".bmp", {}),
        (".gif", {}),
        (".webp", {}),
        (".webp", {"lossless": True}),
    ],
)
def test_header_size_matches_the_decoded_size(tmp_path, suffix, options):
    path = tmp_path / f"x{suffix}"
    Image.new("RGB", (37, 23), (10, 200, 30)).save(path, **options)
    header = read_header(path)
    assert (header.width, header.height) == Image.open(path).size == (37, 23)


def _png_header_only(path, width, height):
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_a_529_megapixel_png_is_refused_from_its_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 23000, 23000)
    with pytest.raises(DataError) as err:
        check_image_file(bomb, "data.splits.train")
    text = str(err.value)
    assert str(bomb) in text and "23,000 × 23,000" in text and "ZOO_MAX_DECODED_PIXELS" in text


def _images(root, fmt, count=3, animated=False):
    for split in ("train", "test"):
        for cls, colour in (("red", (255, 0, 0)), ("green", (0, 255, 0))):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(count):
                frame = Image.new("RGB", (8, 8), colour)
                extra = {}
                if animated:
                    extra = {"save_all": True, "append_images": [Image.new("RGB", (8, 8))]}
                frame.save(folder / f"{i}.{fmt}", **extra)


def _config(root, **kw):
    return DirectoryData(
        source="directory",
        path=str(root),
        kind="image",
        image_size=(8, 8),
        splits={"train": "train", "test": "test"},
        **kw,
    )


def test_directory_source_refuses_an_image_over_the_pixel_limit(tmp_path, monkeypatch):
    _images(tmp_path, "png")
    monkeypatch.setenv("ZOO_MAX_DECODED_PIXELS", "63")  # 8 × 8 = 64 pixels each.
    with pytest.raises(DataError) as err:
        load(_config(tmp_path), batch_size=2, seed=0)
    assert "decoded_pixels" in str(err.value) and "8 × 8 pixels" in str(err.value)


def test_grayscale_gif_is_named_as_a_gif_not_as_corrupt(tmp_path):
    _images(tmp_path, "gif")
    with pytest.raises(DataError) as err:
        load(_config(tmp_path, color_mode="grayscale"), batch_size=2, seed=0)
    text = str(err.value)
    assert "is a GIF" in text and "3 channels" in text and "not corrupt" in text
    assert "color_mode: rgb" in text and ".gif" in text


def test_animated_gif_reads_its_first_frame(tmp_path, caplog):
    _images(tmp_path, "gif", animated=True)
    assert read_header(next(tmp_path.rglob("*.gif"))).animated
    bundle = load(_config(tmp_path), batch_size=2, seed=0)
    images, _ = next(iter(bundle.train))
    assert tuple(images.shape[1:]) == (8, 8, 3)
    assert "animated GIF" in caplog.text
