"""The independent out-of-distribution check: images no part of the project was fitted or tuned on.

The set is rebuilt from two public packages kept aside for this (see the README's "Why you can trust a verdict"):
scikit-image's `data` folder less the six photos of the bank (its other sample images, and the first 100 faces
of its `lfw_subset.npy`) and the PNG backgrounds of Debian's `desktop-base`, plus three seeded square crops of
every full image (`data.ood.random_crops`, as the shipped check set makes them). Each committed pair audits the set; reported per pair: images called members, what the
detector alone would have said, and how many passed the out-of-distribution guard.

Usage: python scripts/independent_ood_check.py [--pairs pretrained] [--work runs/independent-ood] [--json FILE]
(needs `pip download` of scikit-image and `apt-get download desktop-base`, or their files already in --work)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from amint_demo import load_pair
from amint_demo.data.ood import random_crops
from amint_demo.machine import machine_info
from amint_demo.pairs import list_pairs

BANK_PHOTOS = {"astronaut", "camera", "chelsea", "coffee", "coins", "rocket"}  # already in the photo bank
FACES = 100
CROPS = 3


def fetch(work: Path) -> tuple[Path, Path]:
    """The scikit-image wheel and the desktop-base package, downloaded into `work` unless already there."""
    work.mkdir(parents=True, exist_ok=True)
    if not list(work.glob("scikit_image-*.whl")):
        subprocess.run(["pip", "download", "--no-deps", "-q", "-d", str(work), "scikit-image"], check=True)
    if not list(work.glob("desktop-base_*.deb")):
        subprocess.run(["apt-get", "download", "-q", "desktop-base"], cwd=work, check=True)
    return next(work.glob("scikit_image-*.whl")), next(work.glob("desktop-base_*.deb"))


def build_set(wheel: Path, deb: Path, work: Path) -> dict[str, Image.Image]:
    """name -> RGB image: the full images, their seeded crops and the faces."""
    images: dict[str, Image.Image] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            stem, _, ext = Path(name).name.rpartition(".")
            if not name.startswith("skimage/data/") or ext not in ("png", "jpg", "gif") or stem in BANK_PHOTOS:
                continue
            with archive.open(name) as file, Image.open(file) as image:
                images[f"skimage {stem}"] = image.convert("RGB")
        with archive.open("skimage/data/lfw_subset.npy") as file:
            faces = np.load(file)[:FACES]  # (N, 25, 25) float in [0, 1]
    unpacked = work / "desktop-base"
    if not unpacked.is_dir():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    for path in sorted(unpacked.glob("usr/share/plymouth/themes/*/*background*.png")):
        with Image.open(path) as image:
            images[f"debian {path.parent.name}"] = image.convert("RGB")
    rng = np.random.default_rng(123)
    for name, image in list(images.items()):
        for k, crop in enumerate(random_crops(image, CROPS, rng)):
            images[f"{name} crop {k}"] = crop
    for i, face in enumerate(faces):
        images[f"lfw face {i}"] = Image.fromarray((face * 255).round().astype(np.uint8)).convert("RGB")
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=Path("pretrained"))
    parser.add_argument("--work", type=Path, default=Path("runs/independent-ood"))
    parser.add_argument("--json", type=Path, help="also write the results, with the machine, to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = build_set(*fetch(args.work), args.work)
    names, pictures = list(images), list(images.values())
    rows = []
    print(f"{len(pictures)} images ({sum(not n.startswith('lfw') and 'crop' not in n for n in names)} full, "
          f"{sum('crop' in n for n in names)} crops, {sum(n.startswith('lfw') for n in names)} faces)\n")
    print("| pair | called members | detector alone | passed the guard | called members (names) |")
    print("|---|---|---|---|---|")
    for summary in list_pairs(args.pairs):
        verdicts = load_pair(summary.path, device="cpu").audit(pictures)
        members = [n for n, v in zip(names, verdicts) if v.is_member]
        row = {"pair": summary.path.name, "n": len(verdicts), "called_members": len(members),
               "detector_alone": sum((v.detector_probability or 0) >= 0.5 for v in verdicts),
               "passed_guard": sum(v.in_distribution for v in verdicts), "members": members}
        rows.append(row)
        print(f"| {row['pair']} | {row['called_members']} ({row['called_members'] / row['n']:.1%}) | "
              f"{row['detector_alone']} | {row['passed_guard']} | {', '.join(members) or '–'} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"images": names, "pairs": rows, "machine": machine_info()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
