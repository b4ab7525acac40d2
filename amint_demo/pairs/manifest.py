"""The manifest of a pair: schema, construction and validation."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from amint_demo.data import ImageDataset, Splits
from amint_demo.errors import InvalidPair
from amint_demo.evaluation import EvaluationResult
from amint_demo.methods import METHODS, Detector, TrainConfig
from amint_demo.models import AuditableModel, tap_depth_name
from amint_demo.version import __version__

SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
WEIGHTS_FILE = "weights.safetensors"
MEMBERS_FILE = "members.txt"
EXTRA_FILE = "extra_members.safetensors"
REQUIRED = {
    "schema_version": int, "library_version": str, "created": str, "method": str, "dataset": dict,
    "splits": dict, "backbone": dict, "taps": list, "tap_depth": (str, type(None)), "head": (dict, type(None)),
    "detector": dict, "train_config": dict, "metrics": (dict, type(None)), "history": dict, "weights": dict,
}
DATASET_KEYS = ("name", "source", "fingerprint", "num_classes", "class_names", "image_size", "channels", "mean", "std")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_entry(dataset: ImageDataset) -> dict[str, Any]:
    return {"name": dataset.name, "source": dataset.source, "fingerprint": dataset.fingerprint(),
            "num_classes": dataset.num_classes, "class_names": list(dataset.class_names),
            "image_size": dataset.image_size, "channels": dataset.channels,
            "mean": list(dataset.mean), "std": list(dataset.std)}


def build_manifest(config: TrainConfig, dataset: ImageDataset, splits: Splits, model: AuditableModel,
                   detector: Detector, head_members_count: int | None, evaluation: EvaluationResult | None,
                   history: dict, weights: dict, runtime: dict, extra_members: dict | None) -> dict[str, Any]:
    split_entry = splits.to_manifest() | {"members_file": MEMBERS_FILE}
    if head_members_count is not None:
        split_entry |= {"head_member_fraction": config.head_member_fraction, "head_members": head_members_count}
    return {
        "schema_version": SCHEMA_VERSION, "library_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "method": config.method, "dataset": dataset_entry(dataset), "splits": split_entry,
        "backbone": model.spec.to_dict() | {"family": model.spec.family,
                                            "parameters": sum(p.numel() for p in model.backbone.parameters())},
        "taps": list(model.taps), "tap_depth": tap_depth_name(model.backbone, model.taps),
        "head": None if model.head is None else {"kind": model.head_kind, "channels": list(model.tap_channels),
                                                  "width": config.head_width, "hidden": config.head_hidden},
        "detector": {"kind": detector.kind, **detector.config()},
        "train_config": config.to_dict(),
        "metrics": None if evaluation is None else evaluation.to_dict(),
        "history": history, "weights": weights, "runtime": runtime, "extra_members": extra_members,
    }


def validate_manifest(manifest: Any, where: Path) -> dict[str, Any]:
    """Check the manifest's schema; raise InvalidPair naming the first problem."""
    if not isinstance(manifest, dict):
        raise InvalidPair(f"{where}: manifest is not a JSON object")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise InvalidPair(f"{where}: schema_version {manifest.get('schema_version')!r} is not supported (expected {SCHEMA_VERSION})")
    for key, kind in REQUIRED.items():
        if key not in manifest:
            raise InvalidPair(f"{where}: manifest lacks {key!r}")
        if not isinstance(manifest[key], kind):
            raise InvalidPair(f"{where}: manifest field {key!r} has the wrong type")
    if manifest["method"] not in METHODS:
        raise InvalidPair(f"{where}: unknown method {manifest['method']!r}")
    missing = [k for k in DATASET_KEYS if k not in manifest["dataset"]]
    if missing:
        raise InvalidPair(f"{where}: manifest dataset entry lacks {missing}")
    for key in ("seed", "sizes", "member_sha256", "members_file"):
        if key not in manifest["splits"]:
            raise InvalidPair(f"{where}: manifest splits entry lacks {key!r}")
    for key in ("file", "sha256", "dtype"):
        if key not in manifest["weights"]:
            raise InvalidPair(f"{where}: manifest weights entry lacks {key!r}")
    extra = manifest.setdefault("extra_members", None)  # optional: absent means no extra members
    well_formed = extra is None or (isinstance(extra, dict) and extra.get("file") == EXTRA_FILE
                                    and isinstance(extra.get("count"), int) and isinstance(extra.get("sha256"), str))
    if not well_formed:
        raise InvalidPair(f"{where}: manifest extra_members entry is malformed")
    if manifest["splits"]["members_file"] != MEMBERS_FILE or manifest["weights"]["file"] != WEIGHTS_FILE:
        raise InvalidPair(f"{where}: manifest names unexpected files")
    return manifest
