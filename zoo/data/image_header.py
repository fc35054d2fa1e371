"""An image file's format and pixel size read from its header, without decoding it.

Why: a decompression bomb (a 500 KB PNG declaring 23,000 × 23,000 pixels) costs a few
bytes to read and gigabytes to decode. Decoders (TensorFlow's, Pillow's) allocate the
full frame before they find out, so the size must be read and bounded first: this is
pure Python, reads at most a few KB of a normal file (JPEG segments are skipped by their
lengths, not read), and never allocates more than the header's bytes.

Formats: PNG (IHDR), JPEG (the first SOFn frame header), GIF (logical screen, and
whether a second frame follows), BMP (BITMAPINFOHEADER and the old core header) and WebP
(VP8, VP8L, VP8X). Anything else is `None`: the decoder then decides, as before.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from zoo import limits
from zoo.errors import DataError

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_MAX_JPEG_SEGMENTS = 4096  # A real file reaches its frame header in a handful.


@dataclass(frozen=True)
class ImageHeader:
    """What a header declares: `format` ('png', 'jpeg', 'gif', 'bmp', 'webp'), size, and for
    GIF whether the file holds more than one frame (an animation)."""

    format: str
    width: int
    height: int
    animated: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height


def read_header(path: str | os.PathLike[str]) -> ImageHeader | None:
    """The header of the image at `path`, or None when its format is not one of the above
    or the header is cut short (the decoder then reports the file as it does)."""
    with open(path, "rb") as f:
        head = f.read(32)
        try:
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                width, height = struct.unpack(">II", head[16:24])
                return ImageHeader("png", width, height)
            if head[:2] == b"\xff\xd8":
                return _jpeg(f)
            if head[:6] in (b"GIF87a", b"GIF89a"):
                width, height = struct.unpack("<HH", head[6:10])
                return ImageHeader("gif", width, height, animated=_gif_frames(f, head) > 1)
            if head[:2] == b"BM":
                return _bmp(f)
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                return _webp(head)
        except (struct.error, IndexError):
            return None
    return None


def _jpeg(f: BinaryIO) -> ImageHeader | None:
    f.seek(2)
    for _ in range(_MAX_JPEG_SEGMENTS):
        byte = f.read(1)
        while byte == b"\xff":  # Fill bytes before a marker.
            byte = f.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # No length follows.
            continue
        size = f.read(2)
        if len(size) < 2:
            return None
        (length,) = struct.unpack(">H", size)
        if marker in _JPEG_SOF:
            frame = f.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return ImageHeader("jpeg", width, height)
        if marker == 0xD9 or length < 2:  # End of image before any frame.
            return None
        f.seek(length - 2, os.SEEK_CUR)
        # Each byte found must be 0xFF again: read_byte above checks that implicitly.
        peek = f.read(1)
        if peek != b"\xff":
            return None
    return None


def _gif_frames(f: BinaryIO, head: bytes, most: int = 2) -> int:
    """Image descriptors in the file, counted up to `most` by skipping blocks."""
    flags = head[10]
    offset = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    f.seek(offset)
    frames = 0
    while frames < most:
        block = f.read(1)
        if block == b",":  # Image descriptor.
            desc = f.read(9)
            if len(desc) < 9:
                break
            frames += 1
            if desc[8] & 0x80:  # Local colour table.
                f.seek(3 * 2 ** ((desc[8] & 7) + 1), os.SEEK_CUR)
            f.read(1)  # LZW minimum code size.
            if not _skip_sub_blocks(f):
                break
        elif block == b"!":  # Extension: label, then sub-blocks.
            f.read(1)
            if not _skip_sub_blocks(f):
                break
        else:  # Trailer (;) or the end of the file.
            break
    return frames


def _skip_sub_blocks(f: BinaryIO) -> bool:
    while True:
        size = f.read(1)
        if not size:
            return False
        if size[0] == 0:
            return True
        f.seek(size[0], os.SEEK_CUR)


def _bmp(f: BinaryIO) -> ImageHeader | None:
    f.seek(14)
    info = f.read(12)
    (header_size,) = struct.unpack("<I", info[:4])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes.
        width, height = struct.unpack("<HH", info[4:8])
    else:
        width, height = struct.unpack("<ii", info[4:12])
    return ImageHeader("bmp", abs(width), abs(height))


def _webp(head: bytes) -> ImageHeader | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
    elif chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    elif chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        width, height = width & 0x3FFF, height & 0x3FFF
    else:
        return None
    return ImageHeader("webp", width, height)


def check_image_file(path: str | os.PathLike[str], what: str) -> ImageHeader | None:
    """Refuse an image whose header declares more than the `decoded_pixels` limit, before
    any decoder allocates it; returns the header (None for formats not parsed here).
    `what` names where the file comes from in the message (e.g. 'data.splits.train')."""
    header = read_header(path)
    if header is not None:
        why = limits.DECODED_PIXELS.problem(
            header.pixels,
            f"{what}: the {header.format.upper()} image {os.fspath(path)} declares "
            f"{header.width:,} × {header.height:,} pixels, which",
        )
        if why:
            raise DataError(f"{why} (A file this size may be a decompression bomb.)")
    return header
