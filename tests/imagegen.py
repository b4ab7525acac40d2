"""Synthetic test images made by code: seeded noise in a PIL mode, encoded bytes, PNGs declaring any size."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

CHANNELS = {"L": None, "RGB": 3, "RGBA": 4, "LA": 2, "CMYK": 4}


def noise(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    """Uniform random pixels, (height, width) in `mode` (one of CHANNELS)."""
    channels = CHANNELS[mode]
    shape = (height, width) if channels is None else (height, width, channels)
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8), mode=mode)


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    """The image saved in format `fmt` (PNG, JPEG, ...), as bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking 8-bit greyscale PNG header declaring width × height, with a few bytes of pixel data
    (a decompression bomb)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + png_chunk(b"IEND", b"")
