"""Seeded, disjoint members `D`, external data `E` and held-out non-members `T`."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch

from amint_demo.data.dataset import ImageDataset
from amint_demo.errors import InvalidConfig

# (|D|, |E|, |T|) of the aMINT paper (arXiv 2509.07879); Fashion-MNIST follows MNIST.
PAPER_SIZES: dict[str, tuple[int, int, int]] = {
    "fashion-mnist": (25_000, 35_000, 10_000),
    "mnist": (25_000, 35_000, 10_000),
    "cifar10": (20_000, 30_000, 10_000),
    "gtsrb": (11_000, 15_600, 12_600),
}


def _check_indices(name: str, indices: torch.Tensor) -> None:
    if indices.dtype != torch.int64 or indices.ndim != 1:
        raise InvalidConfig(f"{name} indices must be int64 (N,), got {indices.dtype} {tuple(indices.shape)}")
    if indices.numel() and (indices[0] < 0 or bool((indices[1:] <= indices[:-1]).any())):
        raise InvalidConfig(f"{name} indices must be non-negative, unique and sorted")


def indices_sha256(indices: torch.Tensor | np.ndarray) -> str:
    """SHA-256 hex digest of the sorted indices as little-endian int64 bytes (the member hash of a manifest).

    To recompute: `hashlib.sha256(np.asarray(sorted(members), dtype="<i8").tobytes()).hexdigest()`.
    """
    values = indices.cpu().numpy() if isinstance(indices, torch.Tensor) else np.asarray(indices)
    return hashlib.sha256(np.sort(values).astype("<i8").tobytes()).hexdigest()


@dataclass(frozen=True, eq=False)
class Splits:
    """Index sets of one evaluation: `members`, `calibration` and `external` index the train split, `test` the
    test split. Each is int64 (N,), sorted and unique; the three train sets are disjoint. `calibration`: held-out
    train images that no detector trains on, reserved for calibrating it (empty in pairs of schema 1 and 2)."""

    seed: int
    members: torch.Tensor
    external: torch.Tensor
    test: torch.Tensor
    calibration: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.int64))

    def __post_init__(self) -> None:
        for name in ("members", "external", "test", "calibration"):
            _check_indices(name, getattr(self, name))
        if bool(torch.isin(self.members, self.external).any()):
            raise InvalidConfig("members and external data share images")
        if bool(torch.isin(self.calibration, torch.cat([self.members, self.external])).any()):
            raise InvalidConfig("calibration images are also members or external data")

    def sizes(self) -> dict[str, int]:
        return {"members": self.members.numel(), "external": self.external.numel(), "test": self.test.numel(),
                "calibration": self.calibration.numel()}

    def member_sha256(self) -> str:
        """`indices_sha256` of the members."""
        return indices_sha256(self.members)



def default_sizes(dataset: ImageDataset) -> tuple[int, int, int]:
    """(|D|, |E|, |T|): the paper's when they fit, else 5/12 of train, the rest of train, all of test."""
    n_train, n_test = len(dataset.train_labels), len(dataset.test_labels)
    paper = PAPER_SIZES.get(dataset.name)
    if paper is not None and paper[0] + paper[1] <= n_train and paper[2] <= n_test:
        return paper
    n_members = max(1, n_train * 5 // 12) if n_train else 0
    return n_members, n_train - n_members, n_test


def make_splits(dataset: ImageDataset, n_members: int | None = None, n_external: int | None = None,
                n_test: int | None = None, seed: int = 0, n_calibration: int = 0) -> Splits:
    """Draw `D`, the calibration images and `E` (from train) and `T` (from test) with a local generator seeded by
    `seed`.

    One permutation of the train indices gives the members first, then the `n_calibration` calibration images,
    then the external data; a second permutation of the test indices gives `T`. `|D|` and `|T|` left as None take
    `default_sizes`; `|E|` left as None takes the whole rest of train (a large pool of fresh non-members: no
    external image comes back often, so a detector cannot learn the specific images). The same seed and sizes give
    the same splits on any machine; with `n_calibration` 0 they are those of schema 1 and 2 pairs.
    """
    n_train, n_test_split = len(dataset.train_labels), len(dataset.test_labels)
    default_m, _, default_t = default_sizes(dataset)
    n_members = default_m if n_members is None else n_members
    n_external = max(0, n_train - n_members - n_calibration) if n_external is None else n_external
    n_test = default_t if n_test is None else n_test
    for name, value in (("members", n_members), ("external", n_external), ("test", n_test),
                        ("calibration images", n_calibration)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InvalidConfig(f"the number of {name} must be a non-negative integer, got {value!r}")
    if n_members == 0:
        raise InvalidConfig("the number of members must be at least 1")
    if n_members + n_calibration + n_external > n_train:
        raise InvalidConfig(f"{n_members} members + {n_calibration} calibration images + {n_external} external "
                            f"images exceed the {n_train} training images of {dataset.name}")
    if n_test > n_test_split:
        raise InvalidConfig(f"{n_test} test images requested but {dataset.name} has {n_test_split}")
    generator = torch.Generator().manual_seed(seed)
    train_order = torch.randperm(n_train, generator=generator)
    test_order = torch.randperm(n_test_split, generator=generator)
    after = n_members + n_calibration
    return Splits(
        seed=int(seed),
        members=train_order[:n_members].sort().values,
        external=train_order[after:after + n_external].sort().values,
        test=test_order[:n_test].sort().values,
        calibration=train_order[n_members:after].sort().values,
    )


def calibration_draw(splits: Splits, n_train: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `n` members and `n` held-out train images, seeded; both sorted int64 (K,). The held-out images are the
    split's reserved calibration images, or (splits without them) train images in neither D nor E.

    These calibrate a detector; T stays untouched. Fewer (possibly none) when train runs out."""
    generator = torch.Generator().manual_seed(seed + 2)
    if len(splits.calibration):
        unused = splits.calibration
    else:
        used = torch.zeros(n_train, dtype=torch.bool)
        used[splits.members] = True
        used[splits.external] = True
        unused = torch.nonzero(~used).flatten()
    k = min(n, len(unused), len(splits.members))
    nonmembers = unused[torch.randperm(len(unused), generator=generator)[:k]]
    members = splits.members[torch.randperm(len(splits.members), generator=generator)[:k]]
    return members.sort().values, nonmembers.sort().values
