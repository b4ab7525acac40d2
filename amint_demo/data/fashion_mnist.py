"""Fashion-MNIST from wherever it can be found offline, online as a last resort."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

from amint_demo.data.dataset import ImageDataset, cache_dir
from amint_demo.errors import DatasetUnavailable

ENV_DIR = "AMINT_FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
EMBEDDED_SUBSET = Path(__file__).resolve().parents[2] / "assets" / "fashion-mnist-mini.npz"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetUnavailable(f"{path} is not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(bytearray(data), dtype=np.uint8, offset=4 + 4 * ndim)  # writable, as torch wants
    if body.size != int(np.prod(dims)):
        raise DatasetUnavailable(f"{path} is truncated: {body.size} bytes for shape {dims}")
    return body.reshape(dims)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz", directory / "raw" / stem, directory / "raw" / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _from_idx_dir(directory: Path, source: str) -> ImageDataset | None:
    paths = {key: _find_idx(directory, stem) for key, stem in IDX_FILES.items()}
    if any(p is None for p in paths.values()):
        return None
    arrays = {key: read_idx(path) for key, path in paths.items()}  # type: ignore[arg-type]
    return _build(arrays, source)


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
    """The small seeded subset shipped in assets/ (see scripts/make_embedded_subset.py)."""
    with np.load(EMBEDDED_SUBSET, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in IDX_FILES}
    return _build(arrays, f"embedded subset ({EMBEDDED_SUBSET.name})")


def _download() -> ImageDataset | None:
    try:
        from torchvision.datasets import FashionMNIST

        root = cache_dir() / "torchvision"
        FashionMNIST(str(root), train=True, download=True)
        FashionMNIST(str(root), train=False, download=True)
    except Exception:  # offline, blocked, or a partial download: fall through to the subset
        return None
    return _from_idx_dir(root / "FashionMNIST", f"torchvision download ({root})")


def load_fashion_mnist(allow_download: bool = True) -> ImageDataset:
    """Full Fashion-MNIST: $AMINT_FASHION_MNIST_DIR, then the Debian package, then a download.

    Falls back to the embedded subset when none of those is available; the returned
    dataset's `source` says which one was used and its fingerprint tells them apart.
    """
    if os.environ.get(ENV_DIR):
        directory = Path(os.environ[ENV_DIR])
        found = _from_idx_dir(directory, f"${ENV_DIR} ({directory})")
        if found is None:
            raise DatasetUnavailable(f"${ENV_DIR}={directory} has no Fashion-MNIST IDX files ({', '.join(IDX_FILES.values())})")
        return found
    found = _from_idx_dir(DEBIAN_DIR, f"Debian package dataset-fashion-mnist ({DEBIAN_DIR})")
    if found is None and allow_download:
        found = _download()
    return found if found is not None else load_embedded_subset()
