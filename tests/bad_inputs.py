"""A corpus of broken, odd and hostile image uploads, made by code (nothing downloaded).

    .venv/bin/python tests/bad_inputs.py OUT_DIR            # write the corpus, print one line per file
    .venv/bin/python tests/bad_inputs.py OUT_DIR --audit [--json FILE]   # also audit each file (default pair)

Each entry says what a visitor must get: a verdict (the file is odd but an image) or a one-line message
(the file is not a usable image). tests/test_bad_inputs.py runs it through the library (time and memory
measured in a fresh process) and through the running app.
"""
from __future__ import annotations

import io
import json
import resource
import struct
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as a script: the repository root makes `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.imagegen import encoded, noise, png_chunk, png_declaring  # noqa: E402

VERDICT, MESSAGE = "verdict", "message"


@dataclass(frozen=True)
class BadInput:
    filename: str
    expect: str  # VERDICT or MESSAGE
    why: str


def _gif_declaring(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return b"GIF89a" + screen + image + b"\x02\x02\x44\x01\x00\x3b"


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to declare another size."""
    data = bytearray(encoded(Image.new("L", (8, 8), 128), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _png_text_bomb() -> bytes:
    """A 1×1 PNG carrying a zTXt chunk that inflates to 64 MiB (Pillow caps text chunks)."""
    image = encoded(Image.new("L", (1, 1)), "PNG")
    bomb = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * (64 * 2**20), 9))
    return image[:33] + bomb + image[33:]


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it
    return encoded(noise(60, 30), "JPEG", exif=exif)


def _bad_exif() -> bytes:
    data = bytearray(_exif_rotated())
    start = data.index(b"Exif\0\0")
    data[start + 6:start + 30] = b"\xff" * 24  # a garbled TIFF header inside the EXIF block
    return bytes(data)


def _palette_transparency() -> bytes:
    image = noise(32, 32).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return encoded(image, "PNG", transparency=0)


def _animated_gif(frames: int) -> bytes:
    images = [Image.new("RGB", (32, 32), (i * 7 % 256, 80, 160)) for i in range(frames)]
    return encoded(images[0], "GIF", save_all=True, append_images=images[1:], duration=20, loop=0)


def _sixteen_bit() -> bytes:
    values = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    return encoded(Image.fromarray(values), "PNG")


def _float_tiff() -> bytes:
    values = np.linspace(-1.0, 1e6, 32 * 32, dtype=np.float32).reshape(32, 32)
    values[0, 0] = np.nan
    return encoded(Image.fromarray(values), "TIFF")


def _photo(width: int, height: int) -> bytes:
    """A smooth synthetic photo (gradients), JPEG: a real camera size, a small file."""
    x = np.linspace(0, 255, width // 8, dtype=np.float32)
    y = np.linspace(0, 255, height // 8, dtype=np.float32)[:, None]
    small = np.stack([np.broadcast_to(x, (height // 8, width // 8)), np.broadcast_to(y, (height // 8, width // 8)),
                      (x + y) / 2], -1).astype(np.uint8)
    return encoded(Image.fromarray(small, "RGB").resize((width, height), Image.Resampling.BILINEAR), "JPEG", quality=60)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x04\x95" + b"\0" * 64)  # the shape of a torch checkpoint
    return buffer.getvalue()


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 8


def _truncated(data: bytes, keep: float) -> bytes:
    return data[:int(len(data) * keep)]


def _damaged_ihdr() -> bytes:
    data = bytearray(encoded(noise(16, 16), "PNG"))
    data[16:24] = b"\xff" * 8  # width and height fields overwritten
    return bytes(data)


LONG_NAME = "a" * 200 + ".png"
# (file name, expectation, why, bytes maker)
_CORPUS: list[tuple[str, str, str, Callable[[], bytes]]] = [
    ("zero-bytes.png", MESSAGE, "empty file", lambda: b""),
    ("text-renamed.png", MESSAGE, "a text file renamed .png", lambda: b"just some notes\nnot an image\n" * 20),
    ("html-renamed.jpg", MESSAGE, "an HTML page saved as .jpg", lambda: b"<!doctype html><html><body>hi</body></html>"),
    ("pdf-renamed.png", MESSAGE, "a PDF renamed .png", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
    ("drawing.svg", MESSAGE, "an SVG drawing", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9"/>'),
    ("svg-renamed.png", MESSAGE, "an SVG renamed .png", lambda: b'<?xml version="1.0"?><svg width="9"></svg>'),
    ("postscript.png", MESSAGE, "EPS (would need Ghostscript): refused", lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\n"),
    ("archive.png", MESSAGE, "a ZIP archive uploaded as an image", _zip),
    ("checkpoint.jpg", MESSAGE, "a PyTorch checkpoint (ZIP of pickles) as an image", _zip),
    ("weights.png", MESSAGE, "a safetensors file uploaded as an image", _safetensors),
    ("random-bytes.png", MESSAGE, "random bytes", lambda: np.random.default_rng(1).bytes(4096)),
    ("truncated.png", MESSAGE, "PNG cut at 60%", lambda: _truncated(encoded(noise(64, 64), "PNG"), 0.6)),
    ("truncated.jpg", MESSAGE, "JPEG cut at 50%", lambda: _truncated(encoded(noise(64, 64), "JPEG"), 0.5)),
    ("header-only.png", MESSAGE, "PNG signature only", lambda: b"\x89PNG\r\n\x1a\n"),
    ("damaged-header.png", MESSAGE, "PNG whose size fields are garbage", _damaged_ihdr),
    ("bomb-png-100kx100k.png", MESSAGE, "PNG declaring 10 gigapixels in ~100 bytes", lambda: png_declaring(100_000, 100_000)),
    ("bomb-gif-65kx65k.gif", MESSAGE, "GIF declaring 4 gigapixels", lambda: _gif_declaring(65_535, 65_535)),
    ("bomb-jpeg-65kx65k.jpg", MESSAGE, "JPEG declaring 4 gigapixels", lambda: _jpeg_declaring(65_000, 65_000)),
    ("bomb-png-text.png", MESSAGE, "PNG with a text chunk inflating to 64 MiB", _png_text_bomb),
    ("oversized-60MB.png", MESSAGE, "a 60 MB upload (over the upload and decoder limits)",
     lambda: encoded(Image.new("L", (8, 8)), "PNG") + b"\0" * (60 * 2**20)),
    ("sixteen-bit.png", VERDICT, "16-bit greyscale PNG", _sixteen_bit),
    ("float-with-nan.tiff", VERDICT, "32-bit float TIFF with NaN and negatives", _float_tiff),
    ("cmyk.jpg", VERDICT, "CMYK JPEG (print workflows)", lambda: encoded(noise(48, 48, "CMYK"), "JPEG")),
    ("palette-transparency.png", VERDICT, "palette PNG with a transparent colour", _palette_transparency),
    ("rgba.png", VERDICT, "RGBA PNG", lambda: encoded(noise(40, 40, "RGBA"), "PNG")),
    ("grey-alpha.png", VERDICT, "greyscale with alpha", lambda: encoded(noise(40, 40, "LA"), "PNG")),
    ("one-bit.bmp", VERDICT, "1-bit BMP", lambda: encoded(noise(40, 40, "L").convert("1"), "BMP")),
    ("animated.gif", VERDICT, "animated GIF (first frame is audited)", lambda: _animated_gif(5)),
    ("animated-500-frames.gif", VERDICT, "GIF with 500 frames", lambda: _animated_gif(500)),
    ("animated.webp", VERDICT, "animated WebP", lambda: encoded(Image.new("RGB", (32, 32), 9), "WEBP", save_all=True,
                                                                 append_images=[Image.new("RGB", (32, 32), 200)])),
    ("exif-rotated.jpg", VERDICT, "phone photo with EXIF orientation 6", _exif_rotated),
    ("garbled-exif.jpg", VERDICT, "JPEG whose EXIF block is garbage", _bad_exif),
    ("progressive.jpg", VERDICT, "progressive JPEG", lambda: encoded(noise(64, 64), "JPEG", progressive=True)),
    ("png-named.jpg", VERDICT, "PNG with a .jpg name", lambda: encoded(noise(30, 30), "PNG")),
    ("wide-10000x1.png", VERDICT, "extreme aspect ratio 10000:1", lambda: encoded(noise(10_000, 1), "PNG")),
    ("tall-1x10000.png", VERDICT, "extreme aspect ratio 1:10000", lambda: encoded(noise(1, 10_000), "PNG")),
    ("one-pixel.png", VERDICT, "1×1 image", lambda: encoded(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG")),
    ("photo-60-megapixel.jpg", VERDICT, "60-megapixel camera photo (8964×6716)", lambda: _photo(8964, 6716)),
    (LONG_NAME, VERDICT, "a 204-character file name", lambda: encoded(noise(28, 28, "L"), "PNG")),
    ("..%2F..%2Fetc%2Fpasswd.png", VERDICT, "a path-like file name", lambda: encoded(noise(28, 28, "L"), "PNG")),
    ("名前 with spaces; rm -rf ~.png", VERDICT, "spaces, shell characters and non-ASCII",
     lambda: encoded(noise(28, 28, "L"), "PNG")),
]


def make_corpus(folder: Path) -> list[BadInput]:
    """Write every corpus file into `folder` (created) and return what each must produce."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for filename, expect, why, make in _CORPUS:
        (folder / filename).write_bytes(make())
        entries.append(BadInput(filename, expect, why))
    return entries


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def audit_corpus(folder: Path, entries: list[BadInput]) -> dict:
    """Decode and audit each file with the default committed pair, in this process: the outcome (verdict or
    message), seconds, and this process's peak resident memory after each file."""
    import torch

    from amint_demo.data import load_image
    from amint_demo.errors import AmintError
    from benchmarks import repo_runtime

    torch.set_num_threads(1)
    pairs = repo_runtime().pairs
    pair = pairs.get_pair(pairs.default_pair())
    pair.audit([Image.new("L", (28, 28))], explain=True)  # warm-up: lazy initialisation is not the corpus's cost
    baseline = _peak_rss_mb()
    results = []
    for entry in entries:
        began = time.perf_counter()
        try:
            verdict = pair.audit([load_image(folder / entry.filename)], explain=True)[0]
            outcome, detail = VERDICT, f"p(member) = {verdict.membership_probability:.3f}"
        except AmintError as err:
            outcome, detail = MESSAGE, str(err)
        results.append({"filename": entry.filename, "expect": entry.expect, "outcome": outcome, "detail": detail,
                        "seconds": round(time.perf_counter() - began, 3), "peak_rss_mb": round(_peak_rss_mb(), 1)})
    return {"baseline_peak_rss_mb": round(baseline, 1), "results": results}


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    folder = Path(argv[0])
    entries = make_corpus(folder)
    if "--audit" not in argv:
        for entry in entries:
            print(f"{entry.expect:8} {entry.filename}  ({entry.why})")
        return 0
    report = audit_corpus(folder, entries)
    print(json.dumps(report))
    if "--json" in argv:
        target = Path(argv[argv.index("--json") + 1])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
