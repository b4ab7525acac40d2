"""A user's own images, one sub-folder per class, as an `ImageDataset`."""
from __future__ import annotations

from pathlib import Path

import torch

from amint_demo.data.dataset import ImageDataset
from amint_demo.data.images import load_image, to_model_input
from amint_demo.errors import DatasetUnavailable, InvalidConfig, InvalidImage

TEST_FRACTION = 0.2
SPLIT_SEED = 0


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _read_class(folder: Path, size: int) -> tuple[list[torch.Tensor], list[bool], int]:
    """Every readable image under `folder` as uint8 (3, size, size), whether it is greyscale,
    and how many files could not be read."""
    images, greyscale, skipped = [], [], 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and _visible(p)):
        try:
            image = load_image(path)
        except InvalidImage:
            skipped += 1
            continue
        images.append(to_model_input([image], channels=3, size=size)[0])
        greyscale.append(image.mode == "L")
    return images, greyscale, skipped


def _stratified_split(labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted int64 train and test indices, TEST_FRACTION of each class (rounded) in test."""
    generator = torch.Generator().manual_seed(seed)
    train, test = [], []
    for label in labels.unique().tolist():
        members = torch.nonzero(labels == label).flatten()
        order = members[torch.randperm(members.numel(), generator=generator)]
        n_test = round(TEST_FRACTION * members.numel())
        test.append(order[:n_test])
        train.append(order[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def load_imagefolder(path: str, size: int = 64) -> ImageDataset:
    """Images in `path/<class>/...` -> uint8 (N, C, size, size), centre-cropped to square.

    C is 1 when every image is greyscale, else 3. Unreadable files are skipped and counted;
    class folders without a readable image are left out. There is no official test split,
    so a seeded (seed 0) stratified 80/20 train/test split is made; `source` says so.
    """
    root = Path(path).expanduser().resolve()
    if not root.exists():
        raise DatasetUnavailable(f"image folder {root} does not exist")
    if not root.is_dir():
        raise DatasetUnavailable(f"{root} is a file; expected a folder with one sub-folder of images per class")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    if not folders:
        raise InvalidConfig(f"{root} has no class sub-folders; expected {root}/<class name>/<image files>")
    images: list[torch.Tensor] = []
    labels: list[int] = []
    greyscale: list[bool] = []
    class_names: list[str] = []
    skipped, empty = 0, []
    for folder in folders:
        class_images, class_grey, class_skipped = _read_class(folder, size)
        skipped += class_skipped
        if not class_images:
            empty.append(folder.name)
            continue
        labels += [len(class_names)] * len(class_images)
        class_names.append(folder.name)
        images += class_images
        greyscale += class_grey
    if not images:
        raise InvalidConfig(f"{root} has no readable images ({skipped} files could not be read)")
    if len(class_names) < 2:
        raise InvalidConfig(f"{root} has readable images in {len(class_names)} class folder "
                            f"({', '.join(class_names)}); at least 2 classes are needed")
    stacked = torch.stack(images)
    if all(greyscale):
        stacked = stacked[:, :1].contiguous()  # greyscale was replicated to RGB: keep one copy
    label_tensor = torch.tensor(labels, dtype=torch.int64)
    train, test = _stratified_split(label_tensor, SPLIT_SEED)
    notes = [f"{len(images)} images in {len(class_names)} classes", f"{skipped} unreadable files skipped"]
    if empty:
        notes.append(f"class folders without readable images left out: {', '.join(empty)}")
    notes.append(f"seeded (seed {SPLIT_SEED}) stratified 80/20 train/test split, no official test split")
    channels = stacked.shape[1]
    return ImageDataset(
        name=f"imagefolder:{root}", source=f"image folder {root}: " + "; ".join(notes),
        train_images=stacked[train], train_labels=label_tensor[train],
        test_images=stacked[test], test_labels=label_tensor[test],
        class_names=tuple(class_names), mean=(0.5,) * channels, std=(0.5,) * channels,
    )
