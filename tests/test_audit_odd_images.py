"""Auditing real-world images with a pair: odd modes and sizes give verdicts, bad files one-line refusals."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from amint_demo.data import load_dataset
from amint_demo.errors import InvalidImage
from amint_demo.pairs import load_pair
from tests.imagegen import encoded, noise


@pytest.fixture(scope="module")
def pair(tiny_pairs):
    return load_pair(tiny_pairs["amint"], device="cpu")


# --------------------------------------------------------------------------- odd but legal images

def _rgba(tmp_path: Path):
    image = noise(40, 30, "RGB").convert("RGBA")
    alpha = np.zeros((30, 40), dtype=np.uint8)
    alpha[:, :20] = 255
    image.putalpha(Image.fromarray(alpha, "L"))
    return image


def _palette_transparency(tmp_path: Path):
    image = noise(32, 32, "RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    assert Image.open(path).mode == "P" and "transparency" in Image.open(path).info
    return path


def _sixteen_bit(tmp_path: Path):
    values = np.linspace(0, 60_000, 28 * 28, dtype=np.uint16).reshape(28, 28)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    return image


def _sixteen_bit_png_file(tmp_path: Path):
    path = tmp_path / "grey16.png"
    _sixteen_bit(tmp_path).save(path)
    return path


def _cmyk_jpeg(tmp_path: Path):
    data = encoded(noise(50, 40, "RGB").convert("CMYK"), "JPEG", quality=90)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    return data


def _one_pixel(tmp_path: Path):
    return Image.new("RGB", (1, 1), (200, 10, 10))


def _huge(tmp_path: Path):
    return noise(3000, 2000, "RGB")


def _float(tmp_path: Path):
    values = np.linspace(-1.0, 3.5, 28 * 28, dtype=np.float32).reshape(28, 28)
    values[0, 0] = np.nan
    image = Image.fromarray(values, mode="F")
    assert image.mode == "F"
    return image


def _animated_gif(tmp_path: Path):
    frames = [Image.new("L", (28, 28), 255), Image.new("L", (28, 28), 0), Image.new("L", (28, 28), 128)]
    path = tmp_path / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 3
    return path


def _half_white_landscape() -> Image.Image:
    """56 wide x 28 high: left half white, right half black (as stored, before any EXIF rotation)."""
    pixels = np.zeros((28, 56), dtype=np.uint8)
    pixels[:, :28] = 255
    return Image.fromarray(pixels, "L").convert("RGB")


def _exif_rotated_jpeg(tmp_path: Path):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    path = tmp_path / "rotated.jpg"
    _half_white_landscape().save(path, format="JPEG", quality=95, exif=exif.tobytes())
    return path


ODD_IMAGES = {
    "rgba-pil": _rgba,
    "palette-transparency-path": _palette_transparency,
    "16-bit-grey-pil": _sixteen_bit,
    "16-bit-grey-png-path": _sixteen_bit_png_file,
    "cmyk-jpeg-bytes": _cmyk_jpeg,
    "1x1-pil": _one_pixel,
    "3000x2000-rgb-pil": _huge,
    "exif-rotated-jpeg-path": _exif_rotated_jpeg,
    "animated-gif-path": _animated_gif,
    "float-F-pil": _float,
}


def _check_verdict(pair, verdict) -> None:
    assert np.isfinite(verdict.membership_probability)
    assert verdict.verdict == ("member" if verdict.membership_probability >= 0.5 else "non-member")
    assert 0 <= verdict.predicted_class < 10
    assert verdict.predicted_label == pair.class_names[verdict.predicted_class]
    assert 0.0 < verdict.confidence <= 1.0
    assert tuple(verdict.maps) == pair.manifest.taps
    for heat in verdict.maps.values():
        assert heat.ndim == 2 and heat.size > 0
        assert np.isfinite(heat).all()
        assert heat.min() >= 0.0 and heat.max() <= 1.0
    assert verdict.model_input.shape == (28, 28)
    assert verdict.model_input.dtype == np.uint8


@pytest.mark.parametrize("kind", list(ODD_IMAGES))
def test_odd_image_gives_one_verdict(pair, tmp_path, kind):
    source = ODD_IMAGES[kind](tmp_path)
    verdicts = pair.audit([source])
    assert len(verdicts) == 1
    _check_verdict(pair, verdicts[0])


def test_all_odd_images_in_one_batch(pair, tmp_path):
    sources = [make(tmp_path) for make in ODD_IMAGES.values()]
    together = pair.audit(sources)
    assert len(together) == len(sources)
    for verdict in together:
        _check_verdict(pair, verdict)
    alone = [pair.audit([source])[0] for source in sources]
    for a, b in zip(together, alone):
        assert a.membership_probability == pytest.approx(b.membership_probability, abs=1e-5)
        np.testing.assert_array_equal(a.model_input, b.model_input)


def test_sources_as_pil_path_and_bytes_agree(pair, tmp_path):
    image = noise(28, 28, "L", seed=3)
    path = tmp_path / "grey.png"
    image.save(path)
    from_pil, from_path, from_bytes = pair.audit([image, path, path.read_bytes()])
    np.testing.assert_array_equal(from_pil.model_input, np.asarray(image))
    np.testing.assert_array_equal(from_path.model_input, np.asarray(image))
    np.testing.assert_array_equal(from_bytes.model_input, np.asarray(image))
    assert from_pil.membership_probability == from_path.membership_probability == from_bytes.membership_probability
    assert str(path) and pair.audit([str(path)])[0].membership_probability == from_path.membership_probability


def test_exif_orientation_is_applied(pair, tmp_path):
    seen = pair.audit([_exif_rotated_jpeg(tmp_path)])[0].model_input
    # upright the image is 28 wide x 56 high, white on top; the centre crop keeps 14 white rows over 14 black
    assert seen[:10].mean() > 200 and seen[-10:].mean() < 50
    # without the rotation it would have been white on the left instead
    unrotated = pair.audit([_half_white_landscape()])[0].model_input
    assert unrotated[:, :10].mean() > 200 and unrotated[:, -10:].mean() < 50


def test_animated_gif_uses_the_first_frame(pair, tmp_path):
    seen = pair.audit([_animated_gif(tmp_path)])[0].model_input
    assert (seen == 255).all()


def test_transparency_is_composited_over_black(pair, tmp_path):
    seen = pair.audit([_rgba(tmp_path)])[0].model_input
    # the right (transparent) part of the crop is black
    assert seen[:, -6:].max() == 0
    assert seen[:, :6].mean() > 20


def test_sixteen_bit_grey_is_scaled_not_clipped(pair, tmp_path):
    seen = pair.audit([_sixteen_bit(tmp_path)])[0].model_input
    assert seen.max() == 255 and seen.min() == 0
    assert len(np.unique(seen)) > 100  # a gradient, not a saturated white image


# --------------------------------------------------------------------------- bad files

def _zero_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    return path


def _text_as_png(tmp_path: Path) -> Path:
    path = tmp_path / "notes.png"
    path.write_text("these are my holiday notes, not a picture\n" * 10)
    return path


def _truncated_png(tmp_path: Path) -> Path:
    data = encoded(noise(64, 64, "RGB"), "PNG")
    path = tmp_path / "truncated.png"
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_jpeg(tmp_path: Path) -> Path:
    data = encoded(noise(64, 64, "RGB"), "JPEG", quality=90)
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 2])
    return path


def _zip(tmp_path: Path) -> Path:
    path = tmp_path / "archive.png"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "hello")
    return path


def _svg(tmp_path: Path) -> Path:
    path = tmp_path / "drawing.svg"
    path.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                    '<rect width="10" height="10" fill="red"/></svg>\n')
    return path


BAD_FILES = {
    "zero-bytes": (_zero_bytes, "empty"),
    "text-named-png": (_text_as_png, "text"),
    "truncated-png": (_truncated_png, "truncated|damaged|corrupt"),
    "truncated-jpeg": (_truncated_jpeg, "truncated|damaged|corrupt"),
    "zip": (_zip, "ZIP"),
    "svg": (_svg, "SVG"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
@pytest.mark.parametrize("as_bytes", (False, True), ids=("path", "bytes"))
def test_bad_file_is_refused_in_one_line(pair, tmp_path, kind, as_bytes):
    make, reason = BAD_FILES[kind]
    path = make(tmp_path)
    source = path.read_bytes() if as_bytes else path
    with pytest.raises(InvalidImage, match=reason) as caught:
        pair.audit([source])
    message = str(caught.value)
    assert message and "\n" not in message and "Traceback" not in message
    if not as_bytes:
        assert path.name in message  # the user learns which file it was


def test_one_bad_file_in_a_batch_refuses_the_batch(pair, tmp_path):
    with pytest.raises(InvalidImage, match="truncated.jpg"):
        pair.audit([noise(28, 28, "L"), _truncated_jpeg(tmp_path)])


# --------------------------------------------------------------------------- batches

@pytest.fixture(scope="module")
def three_hundred_images() -> list[Image.Image]:
    dataset = load_dataset("fashion-mnist-mini", allow_download=False)
    pixels = dataset.train_images[:300, 0].numpy()
    return [Image.fromarray(p, "L") for p in pixels]


def test_batched_audit_keeps_order_and_agrees_with_one_by_one(pair, three_hundred_images):
    batched = pair.audit(three_hundred_images, batch_size=128)
    assert len(batched) == 300
    for i, verdict in enumerate(batched):
        np.testing.assert_array_equal(verdict.model_input, np.asarray(three_hundred_images[i]))
    whole = pair.audit(three_hundred_images, batch_size=300)
    np.testing.assert_allclose([v.membership_probability for v in batched],
                               [v.membership_probability for v in whole], atol=1e-5)
    assert [v.predicted_class for v in batched] == [v.predicted_class for v in whole]
    for i in (0, 1, 127, 128, 255, 256, 299):  # around the batch boundaries
        alone = pair.audit([three_hundred_images[i]])[0]
        assert batched[i].membership_probability == pytest.approx(alone.membership_probability, abs=1e-5)
        assert batched[i].confidence == pytest.approx(alone.confidence, abs=1e-5)
        assert batched[i].predicted_class == alone.predicted_class
        for tap in alone.maps:
            np.testing.assert_allclose(batched[i].maps[tap], alone.maps[tap], atol=1e-5)


def test_labels_are_split_with_the_batches(tiny_pairs, three_hundred_images):
    """The loss baseline reads the true class: labels must follow their images across batches."""
    pair = load_pair(tiny_pairs["loss"], device="cpu")
    labels = load_dataset("fashion-mnist-mini", allow_download=False).train_labels[:300].tolist()
    batched = pair.audit(three_hundred_images, labels=labels, batch_size=128)
    whole = pair.audit(three_hundred_images, labels=labels, batch_size=300)
    assert len(batched) == 300
    np.testing.assert_allclose([v.membership_probability for v in batched],
                               [v.membership_probability for v in whole], atol=1e-5)


def test_empty_list_gives_no_verdicts(pair):
    assert pair.audit([]) == []
