"""Datasets, seeded D/E/T splits and safe image decoding."""
from __future__ import annotations

from amint_demo.data.dataset import ImageDataset, normalize
from amint_demo.data.extra import ExtraMembers, add_extra_members
from amint_demo.data.images import MAX_FILE_BYTES, MAX_PIXELS, load_image, to_model_input
from amint_demo.data.registry import DATASET_NAMES, load_dataset
from amint_demo.data.splits import PAPER_SIZES, Splits, calibration_draw, default_sizes, indices_sha256, make_splits

__all__ = [
    "DATASET_NAMES", "ExtraMembers", "add_extra_members", "MAX_FILE_BYTES", "MAX_PIXELS", "PAPER_SIZES", "ImageDataset", "Splits",
    "calibration_draw", "default_sizes", "indices_sha256", "load_dataset", "load_image", "make_splits", "normalize", "to_model_input",
]
