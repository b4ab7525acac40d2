"""IDX files (MNIST, Fashion-MNIST): the one place that finds and reads them."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from amint_demo.errors import DatasetUnavailable

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}
# where the files sit under a dataset folder: the folder itself (Debian's packages), torchvision's raw/ layouts
SUBFOLDERS = (".", "raw", "MNIST/raw", "FashionMNIST/raw")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a uint8 array of its declared shape."""
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


def find_idx_files(directory: Path) -> dict[str, Path] | None:
    """The four IDX files (plain or .gz) under `directory` or one of its `SUBFOLDERS`, or None when any is
    missing. Keys as in IDX_FILES."""
    found = {}
    for key, stem in IDX_FILES.items():
        candidates = (directory / sub / name for sub in SUBFOLDERS for name in (stem, f"{stem}.gz"))
        found[key] = next((path for path in candidates if path.is_file()), None)
    return None if any(path is None for path in found.values()) else found  # type: ignore[return-value]


def read_idx_dir(directory: Path) -> dict[str, np.ndarray] | None:
    """The four arrays (train/test images (N, 28, 28), labels (N,)) of an IDX folder, or None when incomplete."""
    paths = find_idx_files(directory)
    return None if paths is None else {key: read_idx(path) for key, path in paths.items()}
