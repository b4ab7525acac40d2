"""The photo bank shipped with the package: real photos no pair was trained on (credits in its CREDITS.md).

They show a visitor what an unseen photo gets, build the out-of-distribution check set (`data.ood`) and serve as
the controls of a training session on a visitor's photos.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PIL import Image

PHOTO_DIR = resources.files("amint_demo") / "assets" / "photos"


@dataclass(frozen=True)
class Photo:
    """One photo of the bank; `faces`: (left, top, right, bottom) boxes as fractions of the image."""

    name: str
    path: Path
    credit: str
    faces: tuple[tuple[float, float, float, float], ...]

    def image(self) -> Image.Image:
        """The photo, decoded, in RGB."""
        with Image.open(self.path) as image:
            return image.convert("RGB")

    def face_crops(self) -> list[Image.Image]:
        image = self.image()
        w, h = image.size
        return [image.crop((round(l * w), round(t * h), round(r * w), round(b * h))) for l, t, r, b in self.faces]


def photo_bank() -> list[Photo]:
    """Every photo of the bank, in a fixed order."""
    folder = Path(str(PHOTO_DIR))
    index = json.loads((folder / "photos.json").read_text())
    return [Photo(name, folder / entry["file"], entry["credit"], tuple(tuple(box) for box in entry["faces"]))
            for name, entry in index.items()]
