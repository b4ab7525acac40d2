"""The out-of-distribution check set: images that cannot be members of any pair trained on a dataset of small
grey objects (Fashion-MNIST, MNIST): the bank's photos, faces cropped from them, and seeded random crops.

Nothing is ever fitted or tuned on it; pairs report how many of its images they call members.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from amint_demo.data.images import to_model_input
from amint_demo.data.photos import Photo, photo_bank

CROPS_PER_PHOTO = 24
CROP_SIDE = (0.15, 0.8)  # a crop's side as a fraction of the photo's shorter side


def random_crops(photo: Image.Image, n: int, rng: np.random.Generator) -> list[Image.Image]:
    """n square crops of seeded random size (CROP_SIDE) and position."""
    w, h = photo.size
    crops = []
    for _ in range(n):
        side = int(min(w, h) * rng.uniform(*CROP_SIDE))
        left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        crops.append(photo.crop((left, top, left + side, top + side)))
    return crops


def check_images(photos: list[Photo] | None = None, crops_per_photo: int = CROPS_PER_PHOTO,
                 seed: int = 0) -> tuple[list[Image.Image], list[str]]:
    """The check set as PIL images with a description each ("china", "china face 1", "china crop 3", ...)."""
    rng = np.random.default_rng(seed)
    images, names = [], []
    for photo in photos or photo_bank():
        image = photo.image()
        images.append(image)
        names.append(photo.name)
        for i, face in enumerate(photo.face_crops(), 1):
            images.append(face)
            names.append(f"{photo.name} face {i}")
        for i, crop in enumerate(random_crops(image, crops_per_photo, rng), 1):
            images.append(crop)
            names.append(f"{photo.name} crop {i}")
    return images, names


def ood_check_set(channels: int, size: int, seed: int = 0) -> torch.Tensor:
    """The check set as a pair reads it: uint8 (N, channels, size, size), as an upload would be preprocessed."""
    images, _ = check_images(seed=seed)
    return to_model_input(images, channels, size)


def ood_check_for(channels: int, size: int) -> torch.Tensor | None:
    """The check set for a pair reading `channels` × `size` images, or None where photos may be in distribution:
    the check is made for grey datasets (Fashion-MNIST, MNIST), whose members can never be photos."""
    return ood_check_set(channels, size) if channels == 1 else None


def session_controls(uploads: torch.Tensor, channels: int, size: int, seed: int = 0) -> torch.Tensor:
    """Images of the uploads' kind that no model saw: the check set, less every photo (with its faces and crops)
    of which an upload is a copy. uploads: uint8 (N, channels, size, size) as the pair read them."""
    rng = np.random.default_rng(seed)
    kept = []
    for photo in photo_bank():
        image = photo.image()
        group = to_model_input([image, *photo.face_crops(), *random_crops(image, CROPS_PER_PHOTO, rng)], channels, size)
        copied = (group.flatten(1).unsqueeze(1) == uploads.flatten(1).unsqueeze(0)).all(-1).any()
        if not bool(copied):
            kept.append(group)
    return torch.cat(kept) if kept else torch.zeros((0, channels, size, size), dtype=torch.uint8)
