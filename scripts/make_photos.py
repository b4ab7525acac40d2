"""Real photos no pair has seen, for the app's upload examples: scikit-image's bundled sample photos,
downscaled to at most 384 px and written as PNG under assets/photos/ (with their credits in CREDITS.md).

    .venv/bin/pip install scikit-image && .venv/bin/python scripts/make_photos.py
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image
from skimage import data

OUT = Path(__file__).resolve().parents[1] / "assets" / "photos"
MAX_SIDE = 384
# name -> (skimage loader, credit as given in skimage.data's documentation)
PHOTOS = {
    "astronaut": (data.astronaut, "Eileen Collins, NASA (no known copyright restrictions)"),
    "cat": (data.chelsea, "Chelsea the cat, Stefan van der Walt (CC0)"),
    "coffee": (data.coffee, "Coffee cup at Pikolo Espresso Bar, Rachel Michetti (CC0)"),
    "rocket": (data.rocket, "Falcon 9 launch of DSCOVR, SpaceX (public domain)"),
    "camera": (data.camera, "Camera, Lav Varshney (CC0)"),
    "coins": (data.coins, "Greek coins from Pompeii, Brooklyn Museum (no known copyright restrictions)"),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["# Upload examples", "", "Sample photos bundled with scikit-image (`skimage.data`), downscaled by "
             "`scripts/make_photos.py`. None is in any training set of the committed pairs.", ""]
    for name, (load, credit) in PHOTOS.items():
        image = Image.fromarray(load())
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        image.save(OUT / f"{name}.png", optimize=True)
        lines.append(f"- `{name}.png` ({image.width}×{image.height}): {credit}")
    (OUT / "CREDITS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
