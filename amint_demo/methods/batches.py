"""In-memory batching of uint8 images into normalised float tensors on the training device."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from amint_demo.data import ImageDataset, normalize


class ImageBatches:
    """Images (uint8 N×C×H×W) and labels addressed by index, normalised on the device."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: tuple[float, ...],
                 std: tuple[float, ...], device: torch.device) -> None:
        self.images, self.labels, self.mean, self.std, self.device = images, labels, mean, std, device

    @classmethod
    def train_split(cls, dataset: ImageDataset, device: torch.device) -> ImageBatches:
        return cls(dataset.train_images, dataset.train_labels, dataset.mean, dataset.std, device)

    @classmethod
    def test_split(cls, dataset: ImageDataset, device: torch.device) -> ImageBatches:
        return cls(dataset.test_images, dataset.test_labels, dataset.mean, dataset.std, device)

    def get(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """index (B,) -> images (B, C, H, W) float normalised, labels (B,)."""
        images = self.images[index].to(self.device, non_blocking=True)
        return normalize(images, self.mean, self.std), self.labels[index].to(self.device)

    def iterate(self, index: torch.Tensor, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(index), batch_size):
            yield self.get(index[start:start + batch_size])


class ShuffledStream:
    """Endless batches of the entries of `index` (1-D), reshuffled on each pass, seeded. It counts its draws, so
    that a run can say how often each entry was seen (`use`)."""

    def __init__(self, index: torch.Tensor, generator: torch.Generator) -> None:
        self.index, self.generator = index, generator
        self._order = index[torch.randperm(len(index), generator=generator)]
        self._position = 0
        self.draws = 0

    def use(self) -> dict:
        """{"pool", "draws", "mean_per_image", "max_per_image"}: every entry is drawn once per pass, so none is
        drawn more than the number of passes begun."""
        pool = len(self.index)
        return {"pool": pool, "draws": self.draws, "mean_per_image": self.draws / pool if pool else 0.0,
                "max_per_image": -(-self.draws // pool) if pool else 0}

    def order_remaining(self) -> torch.Tensor:
        """The entries still to come in the current pass (a checkpoint keeps them)."""
        return self._order[self._position:]

    def restore(self, remaining: torch.Tensor, draws: int) -> None:
        """Continue from a checkpoint: `remaining` entries of the current pass, `draws` so far."""
        self._order, self._position, self.draws = remaining.to(self.index.dtype), 0, draws

    def next_batch(self, n: int) -> torch.Tensor:
        self.draws += n
        parts, needed = [], n
        while needed:
            if self._position == len(self._order):
                self._order = self.index[torch.randperm(len(self.index), generator=self.generator)]
                self._position = 0
            part = self._order[self._position:self._position + needed]
            self._position += len(part)
            needed -= len(part)
            parts.append(part)
        return torch.cat(parts)
