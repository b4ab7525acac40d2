"""Images a user adds to the member set (the app's "train on my images"), appended to the train split."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import torch

from amint_demo.data.dataset import ImageDataset
from amint_demo.data.splits import Splits
from amint_demo.errors import InvalidConfig


@dataclass(frozen=True, eq=False)
class ExtraMembers:
    """images uint8 (N, C, H, W) at the dataset's size and channels; labels int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or len(self.images) == 0:
            raise InvalidConfig("extra members must be a non-empty uint8 (N, C, H, W) tensor")
        if self.labels.shape != (len(self.images),):
            raise InvalidConfig(f"{len(self.labels)} labels for {len(self.images)} extra members")

    def sha256(self) -> str:
        digest = hashlib.sha256(self.images.contiguous().numpy().tobytes())
        digest.update(self.labels.to(torch.int64).numpy().astype("<i8").tobytes())
        return digest.hexdigest()


def add_extra_members(dataset: ImageDataset, splits: Splits, extra: ExtraMembers) -> tuple[ImageDataset, Splits, torch.Tensor]:
    """Append `extra` to the train split and to the members. Returns (dataset, splits, extra indices (N,))."""
    if extra.images.shape[1:] != dataset.train_images.shape[1:]:
        raise InvalidConfig(f"extra members are {tuple(extra.images.shape[1:])}, the dataset's images "
                            f"{tuple(dataset.train_images.shape[1:])}")
    if int(extra.labels.min()) < 0 or int(extra.labels.max()) >= dataset.num_classes:
        raise InvalidConfig(f"extra member labels must be within 0..{dataset.num_classes - 1}")
    start = len(dataset.train_labels)
    indices = torch.arange(start, start + len(extra.labels), dtype=torch.int64)
    extended = replace(dataset, source=f"{dataset.source} + {len(indices)} extra member images",
                       train_images=torch.cat([dataset.train_images, extra.images]),
                       train_labels=torch.cat([dataset.train_labels, extra.labels.to(torch.int64)]))
    members = torch.cat([splits.members, indices])  # already sorted: the new indices come last
    return extended, Splits(splits.seed, members, splits.external, splits.test, splits.calibration), indices
