"""Safe decoding of user images: odd but legal files load, everything else is refused in one line."""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from amint_demo.data import images
from amint_demo.data.images import load_image, to_model_input
from amint_demo.errors import InvalidImage
from tests.imagegen import noise, png_declaring


def _refusal(source) -> str:
    with pytest.raises(InvalidImage) as caught:
        load_image(source)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- legal images -----------------------------------------------------------------------------

def test_rgba_is_composited_over_black(tmp_path):
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (40, 30), (255, 0, 0, 128)).save(path)
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (40, 30)
    red, green, blue = image.getpixel((0, 0))
    assert 126 <= red <= 130 and green == blue == 0


def test_palette_with_transparency(tmp_path):
    path = tmp_path / "palette.png"
    image = Image.new("P", (20, 20), 0)
    image.putpalette([255, 255, 255, 0, 0, 255] + [0] * (254 * 3))
    image.paste(1, (10, 0, 20, 20))
    image.save(path, transparency=0)
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    assert loaded.getpixel((0, 0)) == (0, 0, 0)  # transparent white -> black background
    assert loaded.getpixel((15, 5)) == (0, 0, 255)


def test_16bit_greyscale_is_scaled_by_its_max(tmp_path):
    path = tmp_path / "depth.png"
    values = np.linspace(0, 4000, 64 * 48, dtype=np.uint16).reshape(48, 64)
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    loaded = load_image(path)
    assert loaded.mode == "L" and loaded.size == (64, 48)
    array = np.asarray(loaded)
    assert array.max() == 255 and array.min() == 0


def test_float_and_1bit_greyscale(tmp_path):
    floats = Image.fromarray(np.full((8, 8), 0.5, dtype=np.float32), mode="F")
    floats.putpixel((0, 0), 2.0)
    assert np.asarray(load_image(floats))[1, 1] == 64
    path = tmp_path / "bits.png"
    Image.new("1", (9, 9), 1).save(path)
    loaded = load_image(path)
    assert loaded.mode == "L" and loaded.getpixel((4, 4)) == 255


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(path)
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    red, green, blue = loaded.getpixel((16, 16))
    assert red > 200 and green < 60 and blue < 60


def test_one_pixel_image(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("L", (1, 1), 200).save(path)
    batch = to_model_input([load_image(path)], channels=1, size=28)
    assert batch.shape == (1, 1, 28, 28) and batch.dtype == torch.uint8
    assert int(batch.min()) == int(batch.max()) == 200


def test_animated_gif_gives_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    loaded = load_image(path)
    assert loaded.mode == "RGB" and loaded.getpixel((8, 8)) == (255, 0, 0)


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.new("RGB", (40, 20), (10, 200, 10)).save(path, exif=exif)
    assert Image.open(path).size == (40, 20)
    assert load_image(path).size == (20, 40)


def test_large_legal_photo(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (90, 120, 200)).save(path, quality=80)
    batch = to_model_input([load_image(path)], channels=3, size=64)
    assert batch.shape == (1, 3, 64, 64)
    assert abs(int(batch[0, 2].float().mean()) - 200) <= 2


def test_bytes_and_pil_inputs(tmp_path):
    path = tmp_path / "noise.png"
    noise(30, 20).save(path)
    from_bytes = load_image(path.read_bytes())
    from_pil = load_image(Image.open(path))
    assert np.array_equal(np.asarray(from_bytes), np.asarray(from_pil))


def test_to_model_input_crops_centre_and_converts_channels():
    wide = Image.new("RGB", (30, 10), (0, 0, 0))
    wide.paste((255, 255, 255), (10, 0, 20, 10))  # the centre square is white
    batch = to_model_input([wide, Image.new("L", (5, 7), 77)], channels=3, size=8)
    assert batch.shape == (2, 3, 8, 8)
    assert int(batch[0].min()) == 255
    assert int(batch[1].min()) == int(batch[1].max()) == 77
    assert to_model_input([wide], channels=1, size=4).shape == (1, 1, 4, 4)
    assert to_model_input([], channels=1, size=4).shape == (0, 1, 4, 4)


# --- refused files ------------------------------------------------------------------------------

def test_missing_folder_and_empty(tmp_path):
    assert "no such file" in _refusal(tmp_path / "nope.png")
    assert "folder" in _refusal(tmp_path)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert "empty" in _refusal(empty)
    assert "empty" in _refusal(b"")


def test_text_zip_svg_and_model_files(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello, this is not a picture\n")
    assert "text" in _refusal(text)
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a.txt", "x")
    assert "ZIP" in _refusal(archive)
    svg = tmp_path / "logo.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n')
    message = _refusal(svg)
    assert "SVG" in message and "supported: PNG, JPEG" in message
    header = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    model = tmp_path / "model.safetensors"
    model.write_bytes(struct.pack("<Q", len(header)) + header + b"\x00" * 4)
    assert "safetensors" in _refusal(model)


def test_truncated_png_and_jpeg(tmp_path):
    for name in ("cut.png", "cut.jpg"):
        path = tmp_path / name
        noise(64, 64).save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        assert "truncated or corrupt" in _refusal(path)


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(100_000, 100_000))
    assert bomb.stat().st_size < 200
    assert "pixel limit" in _refusal(bomb)


def test_pixel_limit(tmp_path, monkeypatch):
    path = tmp_path / "small.png"
    noise(20, 10).save(path)
    monkeypatch.setattr(images, "MAX_PIXELS", 199)
    assert "20x10 pixels is over the 199-pixel limit" in _refusal(path)
    monkeypatch.setattr(images, "MAX_PIXELS", 200)
    assert load_image(path).size == (20, 10)


def test_file_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "heavy.png"
    noise(64, 64).save(path)
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a file over the limit"))
    assert "over the" in _refusal(path)


def test_damaged_header(tmp_path):
    path = tmp_path / "head.png"
    noise(64, 64).save(path)
    path.write_bytes(path.read_bytes()[:30])
    assert "damaged image" in _refusal(path)
