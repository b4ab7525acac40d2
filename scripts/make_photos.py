"""The photo bank shipped inside the package (amint_demo/assets/photos): real photos that no pair has seen.

They are the app's upload examples, the source of the out-of-distribution check set (`amint_demo.data.ood`:
the photos, random crops of them and their faces) and of the controls of a training session. Each is downscaled
to at most 384 px and written as PNG, with its credit and face boxes in photos.json and CREDITS.md.

    pip install --target /tmp/photosrc scikit-image mahotas PyWavelets
    PYTHONPATH=/tmp/photosrc .venv/bin/python scripts/make_photos.py

scikit-image's other sample images are kept for independent checks: only the six named here are used.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "amint_demo" / "assets" / "photos"
MAX_SIDE = 384


def _skimage(name: str):
    from skimage import data

    return getattr(data, name)()


def _sklearn(name: str):
    from sklearn.datasets import load_sample_image

    return load_sample_image(name)


def _mahotas(name: str):
    import mahotas.demos

    return np.asarray(Image.open(mahotas.demos.image_path(name)).convert("RGB"))


def _pywt(name: str):
    import pywt.data

    return getattr(pywt.data, name)()


# name -> (loader, credit, face boxes as (left, top, right, bottom) fractions of the image)
PHOTOS = {
    "astronaut": (lambda: _skimage("astronaut"), "Eileen Collins, NASA, via scikit-image (no known copyright "
                  "restrictions)", [(0.36, 0.05, 0.62, 0.40)]),
    "cat": (lambda: _skimage("chelsea"), "Chelsea the cat, Stefan van der Walt, via scikit-image (CC0)", []),
    "coffee": (lambda: _skimage("coffee"), "Coffee cup at Pikolo Espresso Bar, Rachel Michetti, via scikit-image "
               "(CC0)", []),
    "rocket": (lambda: _skimage("rocket"), "Falcon 9 launch of DSCOVR, SpaceX, via scikit-image (public domain)", []),
    "camera": (lambda: _skimage("camera"), "Camera, Lav Varshney, via scikit-image (CC0)", [(0.40, 0.12, 0.62, 0.38)]),
    "coins": (lambda: _skimage("coins"), "Greek coins from Pompeii, Brooklyn Museum, via scikit-image (no known "
              "copyright restrictions)", []),
    "china": (lambda: _sklearn("china.jpg"), "Temple in China, danielbuechele on Flickr, via scikit-learn "
              "(CC BY 2.0)", []),
    "flower": (lambda: _sklearn("flower.jpg"), "Flower, vultilion on Flickr, via scikit-learn (CC BY 2.0)", []),
    "luispedro": (lambda: _mahotas("luispedro.jpg"), "Luis Pedro Coelho, via mahotas (MIT)",
                  [(0.25, 0.10, 0.75, 0.75)]),
    "ascent": (lambda: _pywt("ascent"), "Ascent to the top, public-domain-image.com, via PyWavelets (public "
               "domain)", []),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["# The photo bank", "", "Real photos that no pair was trained on, downscaled by `scripts/make_photos.py`. "
             "Face boxes (fractions of the image) are in photos.json.", ""]
    index = {}
    for name, (load, credit, faces) in PHOTOS.items():
        image = Image.fromarray(load())
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        image.save(OUT / f"{name}.png", optimize=True)
        lines.append(f"- `{name}.png` ({image.width}×{image.height}): {credit}")
        index[name] = {"file": f"{name}.png", "credit": credit, "faces": faces}
    (OUT / "CREDITS.md").write_text("\n".join(lines) + "\n")
    (OUT / "photos.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
