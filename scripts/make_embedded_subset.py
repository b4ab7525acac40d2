"""Build amint_demo/assets/fashion-mnist-mini.npz (package data), the Fashion-MNIST subset shipped with the demo.

Provenance: the full Fashion-MNIST (Xiao, Rasul & Vollgraf, Zalando SE, 2017, MIT/Expat
licence, https://github.com/zalandoresearch/fashion-mnist) as packaged by Debian
(`apt install dataset-fashion-mnist`, IDX files in /usr/share/datasets/fashion-mnist).
From the official training split we keep 300 images per class (3,000 in all), from the
official test split 100 per class (1,000), drawn without replacement by
`numpy.random.default_rng(0)`, class by class in label order, and stored in their
original order. The archive also records the original indices (`train_indices`,
`test_indices`), so anyone holding the full dataset can check every image.

Keys: train_images (3000, 28, 28) uint8, train_labels (3000,) uint8,
test_images (1000, 28, 28) uint8, test_labels (1000,) uint8, train_indices, test_indices int64.

Usage: python scripts/make_embedded_subset.py [IDX_DIR]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amint_demo.data.fashion_mnist import DEBIAN_DIR, EMBEDDED_SUBSET, IDX_FILES, read_idx  # noqa: E402

SEED = 0
PER_CLASS = {"train": 300, "test": 100}


def balanced_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted int64 indices: `per_class` of each label, drawn without replacement."""
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in np.unique(labels)]
    return np.sort(np.concatenate(picks)).astype(np.int64)


def idx_path(idx_dir: Path, stem: str) -> Path:
    for path in (idx_dir / f"{stem}.gz", idx_dir / stem):
        if path.is_file():
            return path
    raise SystemExit(f"{idx_dir} has no {stem}[.gz]: apt install dataset-fashion-mnist, or pass the IDX folder")


def main(idx_dir: Path) -> None:
    arrays = {key: read_idx(idx_path(idx_dir, stem)) for key, stem in IDX_FILES.items()}
    rng = np.random.default_rng(SEED)
    subset = {}
    for split, per_class in PER_CLASS.items():
        keep = balanced_indices(arrays[f"{split}_labels"], per_class, rng)
        subset[f"{split}_images"] = arrays[f"{split}_images"][keep]
        subset[f"{split}_labels"] = arrays[f"{split}_labels"][keep]
        subset[f"{split}_indices"] = keep
    EMBEDDED_SUBSET.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(EMBEDDED_SUBSET, **subset)
    print(f"wrote {EMBEDDED_SUBSET} ({EMBEDDED_SUBSET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEBIAN_DIR)
