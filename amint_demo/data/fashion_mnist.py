"""Fashion-MNIST from wherever it can be found offline, online as a last resort."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch

from amint_demo.data.dataset import ImageDataset
from amint_demo.data.idx import IDX_FILES, read_idx_dir
from amint_demo.errors import DatasetUnavailable

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
EMBEDDED_SUBSET = resources.files("amint_demo") / "assets" / "fashion-mnist-mini.npz"  # package data
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _from_idx_dir(directory: Path, source: str) -> ImageDataset | None:
    arrays = read_idx_dir(directory)
    return None if arrays is None else _build(arrays, source)


def _build(arrays: dict[str, np.ndarray], source: str) -> ImageDataset:
    return ImageDataset(
        name="fashion-mnist", source=source,
        train_images=torch.from_numpy(np.ascontiguousarray(arrays["train_images"])).unsqueeze(1),
        train_labels=torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        test_images=torch.from_numpy(np.ascontiguousarray(arrays["test_images"])).unsqueeze(1),
        test_labels=torch.from_numpy(arrays["test_labels"].astype(np.int64)),
        class_names=CLASS_NAMES, mean=(0.5,), std=(0.5,),
    )


def load_embedded_subset() -> ImageDataset:
    """The small seeded subset shipped inside the package (see scripts/make_embedded_subset.py)."""
    with resources.as_file(EMBEDDED_SUBSET) as path, np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in IDX_FILES}
    return _build(arrays, "embedded subset (fashion-mnist-mini.npz)")


def _download(cache_dir: Path) -> ImageDataset | None:
    try:
        from torchvision.datasets import FashionMNIST

        root = cache_dir / "torchvision"
        FashionMNIST(str(root), train=True, download=True)
        FashionMNIST(str(root), train=False, download=True)
    except Exception:  # offline, blocked, or a partial download: fall through to the subset
        return None
    return _from_idx_dir(root, f"torchvision download ({root})")


def load_fashion_mnist(directory: Path | None, cache_dir: Path, allow_download: bool = True) -> ImageDataset:
    """Full Fashion-MNIST: `directory` ($AMINT_FASHION_MNIST_DIR) if given, then the Debian package, then a
    download into `cache_dir`.

    Falls back to the embedded subset when none of those is available; the returned
    dataset's `source` says which one was used and its fingerprint tells them apart.
    """
    if directory is not None:
        found = _from_idx_dir(directory, f"$AMINT_FASHION_MNIST_DIR ({directory})")
        if found is None:
            raise DatasetUnavailable(f"$AMINT_FASHION_MNIST_DIR={directory} has no Fashion-MNIST IDX files "
                                     f"({', '.join(IDX_FILES.values())})")
        return found
    found = _from_idx_dir(DEBIAN_DIR, f"Debian package dataset-fashion-mnist ({DEBIAN_DIR})")
    if found is None and allow_download:
        found = _download(cache_dir)
    return found if found is not None else load_embedded_subset()
