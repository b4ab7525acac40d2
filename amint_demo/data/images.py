"""Safe decoding of user images: every upload (app) and every audited file (CLI) goes through here.

`load_image` turns untrusted bytes into a decoded PIL image in mode "RGB" or "L", shrunk to what any model
reads, or refuses with a one-line `InvalidImage`; `to_model_input` turns such images into the uint8 tensors the
models read. Memory and time are bounded: sizes are checked before any pixel is decoded, concurrent decodes share
a byte budget (`DECODE_BUDGET_BYTES`), large JPEGs decode at a reduced scale, every image is shrunk right after
decoding (no full-size copy is kept), and 16-bit images are scaled with integer arithmetic on the shrunk image.
"""
from __future__ import annotations

import codecs
import io
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import ExifTags, Image, JpegImagePlugin, UnidentifiedImageError

from amint_demo.errors import InvalidConfig, InvalidImage

MAX_FILE_BYTES = 50 * 2**20
MAX_PIXELS = 80_000_000
# JPEGs larger than twice this on their shorter side are decoded at a reduced DCT scale (1/2 to 1/8) that keeps
# at least this many pixels per side: a 60-megapixel photo then takes ~12 MB instead of ~180 MB, and the models
# read at most a few hundred pixels anyway.
JPEG_DRAFT_SIDE = 1024
# Every decoded image is shrunk at once so that its shorter side is at most about twice this (the models read 28-64
# px; the page shows the model's input). Box-averaged where Pillow can, nearest neighbour for 16-bit, palette and
# 1-bit images.
REDUCED_SIDE = 512
# Decoded pixels held at once by concurrent decodes; a decode that would exceed it waits (one alone always runs).
DECODE_BUDGET_BYTES = 256 * 2**20
# Bytes per pixel a decode holds at its peak: Pillow's storage (1 for "1", "L", "P"; 2 for 16-bit; 4 for the rest,
# RGB and LA included: Pillow pads them to four bytes), twice for images with alpha (Pillow reduces a premultiplied
# full-size copy).
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "LA": 8, "La": 8,
                    "PA": 8, "RGBA": 8, "RGBa": 8}

# Formats we decode (JPEG includes phones' multi-picture MPO files); everything else PIL
# knows (EPS, PSD, ...) is refused as unsupported. AVIF only where Pillow was built with it.
_WANTED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "AVIF")
Image.init()
_FORMATS = tuple(f for f in _WANTED_FORMATS if f in Image.OPEN)
_SUPPORTED = "PNG, JPEG, GIF, BMP, TIFF, WebP, PPM" + (", AVIF" if "AVIF" in _FORMATS else "")
# Serialises the warning-filter swap in _open, so concurrent uploads cannot restore each
# other's filters and leave one changed for good.
_BOMB_WARNING_LOCK = threading.Lock()


def _fail(name: str, reason: str) -> InvalidImage:
    return InvalidImage(" ".join(f"{name}: {reason}".split()))


def _describe_non_image(head: bytes) -> str:
    """Why PIL could not identify a file, judged from its first bytes."""
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "damaged image (truncated or corrupt header)"
    text = head.lstrip().lower()
    if head.startswith(b"PK\x03\x04"):
        what = "looks like a ZIP archive (or a PyTorch checkpoint), not an image"
    elif head.startswith(b"%PDF"):
        what = "looks like a PDF document, not an image"
    elif b"<svg" in text:
        what = "SVG drawings are not supported (export it as PNG)"
    elif head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1"):
        what = "HEIC/HEIF photos are not supported (export it as JPEG or PNG)"
    elif len(head) > 8 and head[8:9] == b"{" and b'"' in head[8:]:  # u64 length, then JSON
        what = "looks like a safetensors model file, not an image"
    elif text.startswith(b"<"):
        what = "looks like an HTML/XML document, not an image"
    elif b"\x00" not in head and _is_utf8(head):
        what = "looks like a text file, not an image"
    else:
        what = "not an image in a supported format"
    return f"{what} (supported: {_SUPPORTED})"


def _is_utf8(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # tolerates a cut last character
    except UnicodeDecodeError:
        return False
    return True


def _read_source(source: str | Path | bytes) -> tuple[bytes, str]:
    """Bytes of a path or a bytes upload, with the size limits checked before reading."""
    if isinstance(source, bytes):
        name = "uploaded image"
        size = len(source)
    else:
        path = Path(source)
        name = path.name or str(path)
        if not path.exists():
            raise _fail(name, "no such file")
        if path.is_dir():
            raise _fail(name, "is a folder, not an image file")
        size = path.stat().st_size
    if size == 0:
        raise _fail(name, "the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise _fail(name, f"the file is {size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES / 2**20:.0f} MiB limit")
    if isinstance(source, bytes):
        return source, name
    try:
        return Path(source).read_bytes(), name
    except OSError as exc:
        raise _fail(name, f"cannot be read ({exc.strerror or type(exc).__name__})") from exc


def _check_pixels(name: str, size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise _fail(name, f"{width}x{height} pixels is over the {MAX_PIXELS:,}-pixel limit")


def _composite_over_black(image: Image.Image, mode: str) -> Image.Image:
    """Drop alpha by compositing over black, the background of Fashion-MNIST and MNIST."""
    background = Image.new(mode, image.size, 0)
    background.paste(image.convert(mode), mask=image.getchannel("A"))
    return background


class _DecodeBudget:
    """Bytes of decoded pixels in flight across threads; `hold(n)` waits until n more fit (or nothing is held)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self._ready = threading.Condition()

    def acquire(self, n: int) -> None:
        with self._ready:
            self._ready.wait_for(lambda: self.used == 0 or self.used + n <= self.limit)
            self.used += n

    def release(self, n: int) -> None:
        with self._ready:
            self.used -= n
            self._ready.notify_all()


_BUDGET = _DecodeBudget(DECODE_BUDGET_BYTES)


def _decoded_bytes(image: Image.Image) -> int:
    return image.width * image.height * _BYTES_PER_PIXEL.get(image.mode, 4)


def _shrink(image: Image.Image) -> Image.Image:
    """A decoded image -> one whose shorter side is under 2 × REDUCED_SIDE (the image itself when it already is)."""
    factor = min(image.size) // REDUCED_SIDE
    if factor < 2:
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "P", "PA", "1"):
        size = (max(1, image.width // factor), max(1, image.height // factor))
        return image.resize(size, Image.Resampling.NEAREST)
    return image.reduce(factor)


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit int and float greyscale -> "L", scaled by the image's own maximum (integer arithmetic for
    integer images)."""
    values = np.asarray(image)
    if values.dtype.kind in "iu":
        values = values.astype(np.int64).clip(min=0)
        peak = int(values.max(initial=0))
        scaled = (values * 255 + peak // 2) // peak if peak > 0 else values
        return Image.fromarray(scaled.astype(np.uint8), mode="L")
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0).clip(min=0.0)
    peak = values.max(initial=0.0)
    scaled = values * (255.0 / peak) if peak > 0 else values
    return Image.fromarray(np.rint(scaled).astype(np.uint8), mode="L")


def _to_rgb_or_l(image: Image.Image) -> Image.Image:
    """Any PIL mode -> "RGB" or "L" (greyscale stays one channel)."""
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        return _composite_over_black(image.convert("RGBA"), "RGB") if has_alpha else image.convert("RGB")
    if mode in ("LA", "La"):
        return _composite_over_black(image.convert("LA"), "L")
    if mode in ("RGBA", "RGBa"):
        return _composite_over_black(image.convert("RGBA"), "RGB")
    if mode.startswith("I") or mode == "F":
        return _scale_to_8bit(image)
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX


def _open(data: bytes, name: str) -> Image.Image:
    """Identify the format and read the header only; no pixel is decoded yet."""
    try:
        with _BOMB_WARNING_LOCK, warnings.catch_warnings():
            # Sizes between PIL's own limit and twice it only warn; _check_pixels refuses them.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=_FORMATS)
    except UnidentifiedImageError as exc:
        raise _fail(name, _describe_non_image(data[:512])) from exc
    except Image.DecompressionBombError as exc:
        raise _fail(name, f"its declared size is over the {MAX_PIXELS:,}-pixel limit") from exc
    except Exception as exc:  # a plugin choking on a damaged header
        if "too large" in str(exc):  # Pillow's cap on text/ICC chunks (ImageFile.SAFEBLOCK)
            raise _fail(name, "a metadata chunk inflates beyond Pillow's limit (a decompression bomb)") from exc
        raise _fail(name, f"corrupt image header ({type(exc).__name__})") from exc


_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
                5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}


def _exif_turn(image: Image.Image) -> Image.Transpose | None:
    """The transpose that makes the image upright by its EXIF orientation (read from the original: shrinking drops
    EXIF), or None; a malformed EXIF block counts as none."""
    try:
        return _ORIENTATION.get(image.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:
        return None


def _decode(image: Image.Image, name: str, opened_here: bool = False) -> Image.Image:
    """Header-checked image -> decoded first frame, shrunk (`_shrink`), upright, in "RGB" or "L". `opened_here`: an
    image we opened ourselves, which a large JPEG (or MPO) may be decoded at a reduced scale for, and whose
    full-size pixels are freed once shrunk (a caller's image is never changed)."""
    _check_pixels(name, image.size)
    if opened_here and isinstance(image, JpegImagePlugin.JpegImageFile) and min(image.size) > 2 * JPEG_DRAFT_SIDE:
        image.draft(image.mode, (JPEG_DRAFT_SIDE, JPEG_DRAFT_SIDE))
    held = _decoded_bytes(image)
    _BUDGET.acquire(held)
    try:
        image.seek(0)  # animated GIF/APNG/WebP: the first frame
        image.load()
        turn = _exif_turn(image)
        small = _shrink(image)
        if opened_here and small is not image:
            image.close()  # frees the full-size pixels before the budget is released
    except Exception as exc:  # truncated or corrupt pixel data, whatever the plugin raises
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise _fail(name, f"truncated or corrupt image data ({reason})") from exc
    finally:
        _BUDGET.release(held)
    upright = small.transpose(turn) if turn is not None else small.copy()
    try:
        return _to_rgb_or_l(upright)
    except Exception as exc:  # a pixel format PIL decodes but cannot convert
        raise _fail(name, f"unsupported pixel format {upright.mode}") from exc


def load_image(source: str | Path | bytes | Image.Image) -> Image.Image:
    """A decoded image in mode "RGB" or "L", shrunk to a shorter side under 2 × REDUCED_SIDE, or `InvalidImage`
    with a one-line reason.

    Applies the EXIF orientation, keeps the first frame of animations, composites
    transparency over black (the background of Fashion-MNIST/MNIST), converts palette,
    CMYK and 1-bit images, and scales 16-bit/32-bit/float greyscale to 8 bits by the
    image's own maximum. Files over `MAX_FILE_BYTES` are refused before being read, images
    over `MAX_PIXELS` before their pixels are decoded; large JPEGs are decoded at a reduced scale
    (`JPEG_DRAFT_SIDE`).
    """
    if isinstance(source, Image.Image):
        return _decode(source, "image")
    data, name = _read_source(source)
    with _open(data, name) as image:
        return _decode(image, name, opened_here=True)


def _square_box(width: int, height: int) -> tuple[int, int, int, int]:
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def to_model_input(images: Sequence[Image.Image], channels: int, size: int) -> torch.Tensor:
    """PIL images -> uint8 (N, channels, size, size): centre-cropped to square, bilinear resize."""
    if channels not in (1, 3):
        raise InvalidConfig(f"images can have 1 or 3 channels, not {channels}")
    if size < 1:
        raise InvalidConfig(f"image size must be at least 1 pixel, not {size}")
    mode = "L" if channels == 1 else "RGB"
    arrays = []
    for image in images:
        image = _to_rgb_or_l(image).convert(mode)
        square = image.crop(_square_box(*image.size))
        resized = square.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        arrays.append(np.asarray(resized, dtype=np.uint8).reshape(size, size, channels))
    if not arrays:
        return torch.zeros((0, channels, size, size), dtype=torch.uint8)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
