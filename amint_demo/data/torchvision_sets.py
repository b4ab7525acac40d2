"""MNIST, CIFAR-10 and GTSRB through torchvision: pre-placed files, the cache, then a download.

Each loader looks in its folder first (a setting such as $AMINT_MNIST_DIR, used as torchvision's `root`, never
downloaded into), else in `<cache dir>/torchvision`, downloading there when allowed.
Normalisation is mean = std = 0.5 per channel, as in the aMINT paper.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from amint_demo.data.dataset import ImageDataset
from amint_demo.data.idx import read_idx_dir
from amint_demo.errors import DatasetUnavailable

GTSRB_SIZE = 64  # the aMINT paper resizes GTSRB to 64x64
GTSRB_CLASSES = (
    "Speed limit (20km/h)", "Speed limit (30km/h)", "Speed limit (50km/h)", "Speed limit (60km/h)",
    "Speed limit (70km/h)", "Speed limit (80km/h)", "End of speed limit (80km/h)", "Speed limit (100km/h)",
    "Speed limit (120km/h)", "No passing", "No passing for vehicles over 3.5 t",
    "Right-of-way at the next intersection", "Priority road", "Yield", "Stop", "No vehicles",
    "Vehicles over 3.5 t prohibited", "No entry", "General caution", "Dangerous curve to the left",
    "Dangerous curve to the right", "Double curve", "Bumpy road", "Slippery road",
    "Road narrows on the right", "Road work", "Traffic signals", "Pedestrians", "Children crossing",
    "Bicycles crossing", "Beware of ice/snow", "Wild animals crossing",
    "End of all speed and passing limits", "Turn right ahead", "Turn left ahead", "Ahead only",
    "Go straight or right", "Go straight or left", "Keep right", "Keep left", "Roundabout mandatory",
    "End of no passing", "End of no passing by vehicles over 3.5 t",
)

# (root, download, source) -> dataset; raises whatever torchvision or the file system raises.
Builder = Callable[[Path, bool, str], ImageDataset]


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _locate(title: str, directory: Path | None, env: str, cache_dir: Path, layout: str, build: Builder,
            allow_download: bool) -> ImageDataset:
    """`directory` (the setting $env: pre-placed, read only), then the cache, then a download into the cache."""
    if directory is not None:
        root = directory
        try:
            return build(root, False, f"${env} ({root})")
        except Exception as exc:
            raise DatasetUnavailable(f"${env}={root} does not hold {title} ({_reason(exc)}); "
                                     f"expected {layout}") from exc
    root = cache_dir / "torchvision"
    try:
        return build(root, False, f"cache ({root})")
    except Exception as exc:
        if not allow_download:
            raise DatasetUnavailable(f"{title} is not in the cache {root} and downloads are off; "
                                     f"set ${env} to a folder holding {layout}") from exc
    try:
        return build(root, True, f"torchvision download ({root})")
    except Exception as exc:
        raise DatasetUnavailable(f"{title} could not be downloaded ({_reason(exc)}); run once with "
                                 f"internet access, or set ${env} to a folder holding {layout}") from exc


def _gray(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) -> (N, 1, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)


def _labels(labels: np.ndarray) -> torch.Tensor:
    """uint8 (N,) -> int64 (N,)."""
    return torch.from_numpy(labels.astype(np.int64))


def _build_mnist(root: Path, download: bool, source: str) -> ImageDataset:
    if download:
        from torchvision.datasets import MNIST

        for train in (True, False):
            MNIST(str(root), train=train, download=True)
    arrays = read_idx_dir(root)
    if arrays is None:
        raise FileNotFoundError(f"no complete set of MNIST IDX files in {root}")
    return ImageDataset(
        name="mnist", source=f"MNIST from {source}",
        train_images=_gray(arrays["train_images"]), train_labels=_labels(arrays["train_labels"]),
        test_images=_gray(arrays["test_images"]), test_labels=_labels(arrays["test_labels"]),
        class_names=tuple(str(d) for d in range(10)), mean=(0.5,), std=(0.5,),
    )


def _build_cifar10(root: Path, download: bool, source: str) -> ImageDataset:
    from torchvision.datasets import CIFAR10

    train, test = (CIFAR10(str(root), train=flag, download=download) for flag in (True, False))
    return ImageDataset(
        name="cifar10", source=f"CIFAR-10 from {source}",
        train_images=torch.from_numpy(train.data).permute(0, 3, 1, 2).contiguous(),
        train_labels=torch.tensor(train.targets, dtype=torch.int64),
        test_images=torch.from_numpy(test.data).permute(0, 3, 1, 2).contiguous(),
        test_labels=torch.tensor(test.targets, dtype=torch.int64),
        class_names=tuple(train.classes), mean=(0.5,) * 3, std=(0.5,) * 3,
    )


def _gtsrb_split(root: Path, split: str, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 3, 64, 64) images and int64 (N,) labels of one official split."""
    from torchvision.datasets import GTSRB

    def resize(image: Image.Image) -> np.ndarray:
        return np.asarray(image.resize((GTSRB_SIZE, GTSRB_SIZE), Image.Resampling.BILINEAR))

    data = GTSRB(str(root), split=split, transform=resize, download=download)
    pairs = [data[i] for i in range(len(data))]
    images = torch.from_numpy(np.stack([image for image, _ in pairs])).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor([label for _, label in pairs], dtype=torch.int64)


def _build_gtsrb(root: Path, download: bool, source: str) -> ImageDataset:
    train_images, train_labels = _gtsrb_split(root, "train", download)
    test_images, test_labels = _gtsrb_split(root, "test", download)
    return ImageDataset(
        name="gtsrb", source=f"GTSRB from {source}, resized to {GTSRB_SIZE}x{GTSRB_SIZE}",
        train_images=train_images, train_labels=train_labels,
        test_images=test_images, test_labels=test_labels,
        class_names=GTSRB_CLASSES, mean=(0.5,) * 3, std=(0.5,) * 3,
    )


def load_mnist(directory: Path | None, cache_dir: Path, allow_download: bool = True) -> ImageDataset:
    """MNIST, 60,000 train / 10,000 test, uint8 (N, 1, 28, 28)."""
    layout = "the four MNIST IDX files (train-images-idx3-ubyte[.gz], ...)"
    return _locate("MNIST", directory, "AMINT_MNIST_DIR", cache_dir, layout, _build_mnist, allow_download)


def load_cifar10(directory: Path | None, cache_dir: Path, allow_download: bool = True) -> ImageDataset:
    """CIFAR-10, 50,000 train / 10,000 test, uint8 (N, 3, 32, 32)."""
    layout = "the extracted 'cifar-10-batches-py' folder"
    return _locate("CIFAR-10", directory, "AMINT_CIFAR10_DIR", cache_dir, layout, _build_cifar10, allow_download)


def load_gtsrb(directory: Path | None, cache_dir: Path, allow_download: bool = True) -> ImageDataset:
    """GTSRB, 26,640 train / 12,630 test, 43 classes, resized to uint8 (N, 3, 64, 64)."""
    layout = "torchvision's 'gtsrb' folder (GTSRB/Training, GTSRB/Final_Test/Images, GT-final_test.csv)"
    return _locate("GTSRB", directory, "AMINT_GTSRB_DIR", cache_dir, layout, _build_gtsrb, allow_download)
