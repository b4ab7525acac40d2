"""Datasets by name: the one entry point the trainers, the CLI and the app use."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from amint_demo.data.dataset import ImageDataset
from amint_demo.data.fashion_mnist import load_embedded_subset, load_fashion_mnist
from amint_demo.data.imagefolder import load_imagefolder
from amint_demo.data.torchvision_sets import load_cifar10, load_gtsrb, load_mnist
from amint_demo.errors import InvalidConfig
from amint_demo.settings import Settings

IMAGEFOLDER_PREFIX = "imagefolder:"
DATASET_NAMES = ("fashion-mnist", "fashion-mnist-mini", "mnist", "cifar10", "gtsrb", f"{IMAGEFOLDER_PREFIX}<path>")


def _embedded_subset() -> ImageDataset:
    return dataclasses.replace(load_embedded_subset(), name="fashion-mnist-mini")


# name -> (the setting naming its folder, loader(folder, cache folder, allow_download))
_LOADERS: dict[str, tuple[str, Callable[[Path | None, Path, bool], ImageDataset]]] = {
    "fashion-mnist": ("fashion_mnist_dir", load_fashion_mnist),
    "mnist": ("mnist_dir", load_mnist),
    "cifar10": ("cifar10_dir", load_cifar10),
    "gtsrb": ("gtsrb_dir", load_gtsrb),
}


def load_dataset(name: str, allow_download: bool = True, settings: Settings | None = None) -> ImageDataset:
    """The dataset called `name` (one of DATASET_NAMES); `source` says where it came from.

    "fashion-mnist" falls back to the embedded subset when the full set is unavailable;
    "fashion-mnist-mini" is that subset, always. `allow_download=False` never touches the network.
    `settings` (default: read from the environment now) says which folders to look in first.
    """
    if name.startswith(IMAGEFOLDER_PREFIX):
        folder = name[len(IMAGEFOLDER_PREFIX):]
        if not folder.strip():
            raise InvalidConfig(f"'{name}' names no folder; use {IMAGEFOLDER_PREFIX}<path>")
        return load_imagefolder(folder)
    key = name.strip().lower()
    if key == "fashion-mnist-mini":
        return _embedded_subset()
    if key not in _LOADERS:
        raise InvalidConfig(f"unknown dataset '{name}'; valid names: {', '.join(DATASET_NAMES)}")
    settings = settings or Settings.from_env(gpu=False)
    setting, loader = _LOADERS[key]
    return loader(getattr(settings, setting), settings.resolved_cache_dir(), allow_download)
