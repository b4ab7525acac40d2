"""A pair on disk: manifest.json + members.txt + weights.safetensors. Atomic save, validating load."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from amint_demo.data import (ExtraMembers, ImageDataset, Splits, add_extra_members, indices_sha256, load_image,
                             make_splits, normalize, to_model_input)
from amint_demo.errors import AmintError, InvalidPair, StorageError
from amint_demo.evaluation import EvaluationResult
from amint_demo.methods import Detector, MembershipTest, PixelDensityGuard, TrainConfig, TrainedModel
from amint_demo.models import AuditableModel, pick_device
from amint_demo.pairs.audit import AuditVerdict, verdicts
from amint_demo.pairs.manifest import (EXTRA_FILE, MANIFEST_FILE, MEMBERS_FILE, WEIGHTS_FILE, ExtraMembersEntry,
                                       Manifest, WeightsEntry, build_manifest, read_manifest_file, sha256_file)

PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
ImageSource = str | os.PathLike | bytes | Image.Image


@dataclass
class Pair:
    """An audited model with its membership detector (calibrated, guarded), loaded from a pair directory."""

    path: Path
    manifest: Manifest
    model: AuditableModel
    detector: Detector
    device: torch.device
    extra_members: ExtraMembers | None = None
    guard: PixelDensityGuard | None = None

    @property
    def test(self) -> MembershipTest:
        """Model, detector, calibration and guard as one membership test."""
        calibration = self.manifest.calibration
        return MembershipTest(self.model, self.detector, calibration.calibrator() if calibration else None, self.guard)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest.dataset.class_names)

    def members(self) -> np.ndarray:
        """The member indices (into the dataset's official train split), sorted, int64."""
        return read_members(self.path)

    def preprocess(self, images: Sequence[ImageSource]) -> torch.Tensor:
        """Any PIL images, paths or bytes -> uint8 (B, C, S, S) as the model expects (may raise InvalidImage)."""
        data = self.manifest.dataset
        return to_model_input([load_image(image) for image in images], data.channels, data.image_size)

    def audit_pixels(self, pixels: torch.Tensor, labels: Sequence[int] | None = None,
                     explain: bool = False) -> list[AuditVerdict]:
        """uint8 (B, C, S, S) -> one verdict per image; `explain` adds membership Grad-CAM maps."""
        data = self.manifest.dataset
        x = normalize(pixels.to(self.device), data.mean, data.std)
        y = None if labels is None else torch.as_tensor(list(labels), dtype=torch.long, device=self.device)
        result = self.test.score(x, y, explain=explain)
        threshold = None if self.guard is None else float(self.guard.threshold)
        return verdicts(self.model, pixels, result, self.class_names, threshold)

    def audit(self, images: Sequence[ImageSource], labels: Sequence[int] | None = None,
              batch_size: int = 256, explain: bool = False) -> list[AuditVerdict]:
        """Images of any size and mode -> verdicts. `labels` (true classes) sharpen the loss and gradient
        methods; without them the predicted class stands in. `explain`: see `audit_pixels`."""
        results: list[AuditVerdict] = []
        for start in range(0, len(images), batch_size):
            part = labels[start:start + batch_size] if labels is not None else None
            results += self.audit_pixels(self.preprocess(images[start:start + batch_size]), part, explain)
        return results

    def rebuild_splits(self, dataset: ImageDataset) -> tuple[ImageDataset, Splits, torch.Tensor | None]:
        """Rebuild D, E, T on the base dataset (plus the pair's extra members, appended to the train split)
        and check them against the manifest's member hash. Returns (dataset, splits, extra member indices)."""
        entry = self.manifest.splits
        n_extra = 0 if self.extra_members is None else len(self.extra_members.labels)
        splits = make_splits(dataset, entry.sizes.members - n_extra, entry.sizes.external, entry.sizes.test, entry.seed,
                             entry.sizes.calibration)
        extra = None
        if self.extra_members is not None:
            dataset, splits, extra = add_extra_members(dataset, splits, self.extra_members)
        if splits.member_sha256() != entry.member_sha256:
            raise InvalidPair(f"{self.path}: the rebuilt member set does not match the manifest's hash")
        return dataset, splits, extra

    def head_members(self, splits: Splits) -> torch.Tensor | None:
        """Members the detector was fitted on (methods fitted on part of D); None when it saw all of D."""
        return self.manifest.method_info.head_members(splits, self.manifest.train_config)


def read_members(path: Path) -> np.ndarray:
    try:
        text = (path / MEMBERS_FILE).read_text()
        return np.array([int(line) for line in text.split()], dtype=np.int64)
    except (OSError, ValueError) as err:
        raise InvalidPair(f"{path}: cannot read {MEMBERS_FILE}: {err}") from None


def _state(model: AuditableModel, detector: Detector, guard: PixelDensityGuard | None) -> dict[str, torch.Tensor]:
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state |= {f"detector.{k}": v for k, v in detector.state_dict().items()}
    return state | ({} if guard is None else {f"guard.{k}": v for k, v in guard.state_dict().items()})


def save_pair(path: str | Path, trained: TrainedModel, config: TrainConfig, dataset: ImageDataset, splits: Splits,
              evaluation: EvaluationResult | None, float16: bool = False, overwrite: bool = False,
              runtime: dict | None = None, extra: ExtraMembers | None = None) -> Path:
    """Write a pair atomically: everything goes to a temporary sibling directory, then one rename.

    `dataset` is the base dataset (its fingerprint is recorded); `splits` include any `extra` members."""
    path = Path(path).resolve()
    if path.exists() and not overwrite:
        raise InvalidPair(f"{path} already exists (pass overwrite to replace it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as err:
        raise StorageError(f"cannot write the pair {path.name}: {err.strerror or err}") from err
    try:
        state = {k: (v.half() if float16 and v.is_floating_point() and not k.startswith("guard.") else v)
                 .detach().cpu().contiguous() for k, v in _state(trained.model, trained.detector, trained.guard).items()}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        (tmp / MEMBERS_FILE).write_text("\n".join(map(str, splits.members.tolist())) + "\n")
        weights = WeightsEntry(sha256=sha256_file(tmp / WEIGHTS_FILE), dtype="float16" if float16 else "float32",
                               bytes=(tmp / WEIGHTS_FILE).stat().st_size)
        extra_entry = None
        if extra is not None:
            save_file({"images": extra.images.contiguous(), "labels": extra.labels.to(torch.int64).contiguous()},
                      str(tmp / EXTRA_FILE))
            extra_entry = ExtraMembersEntry(count=len(extra.labels), sha256=extra.sha256())
        manifest = build_manifest(config, dataset, splits, trained, evaluation, weights, runtime or {}, extra_entry)
        (tmp / MANIFEST_FILE).write_text(manifest.to_json())
        if path.exists():
            trash = path.with_name(f".{path.name}.old")
            os.replace(path, trash)
            os.replace(tmp, path)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except (OSError, SafetensorError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise StorageError(f"cannot write the pair {path.name}: {reason}") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def read_manifest(path: Path) -> Manifest:
    """The validated manifest of the pair directory `path` (older schemas migrated)."""
    if not path.is_dir():
        raise InvalidPair(f"{path} is not a pair directory")
    file = path / MANIFEST_FILE
    if not file.is_file():
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
        hint = f" (found {', '.join(pickles)}: pickled checkpoints are never loaded)" if pickles else ""
        raise InvalidPair(f"{path} has no {MANIFEST_FILE}{hint}")
    return read_manifest_file(file)


def _build(manifest: Manifest, path: Path) -> tuple[AuditableModel, Detector, PixelDensityGuard | None]:
    try:
        head = manifest.head
        model = AuditableModel(manifest.backbone.spec(), list(manifest.taps), head.kind if head else None,
                               head.width if head else 64, head.hidden if head else 128)
        detector = manifest.method_info.build_detector(manifest.detector)
        data = manifest.dataset
        guard = None if manifest.guard is None else PixelDensityGuard(manifest.guard.positions,
                                                                      manifest.guard.exceptions, data.mean, data.std)
    except Exception as err:  # any inconsistency in the manifest is the pair's fault, not ours
        raise InvalidPair(f"{path}: manifest does not describe a buildable model: {err}") from None
    return model, detector, guard


def _load_weights(path: Path, manifest: Manifest, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    file = path / WEIGHTS_FILE
    if not file.is_file():
        raise InvalidPair(f"{path} has no {WEIGHTS_FILE}")
    if sha256_file(file) != manifest.weights.sha256:
        raise InvalidPair(f"{file} does not match the SHA-256 in the manifest (modified or corrupt)")
    try:
        with safe_open(str(file), framework="pt") as handle:
            keys = set(handle.keys())
            if keys != set(expected):
                extra, missing = sorted(keys - set(expected))[:3], sorted(set(expected) - keys)[:3]
                raise InvalidPair(f"{file}: tensors do not match the manifest's model (unexpected {extra}, missing {missing})")
            loaded = {}
            for key in keys:
                tensor = handle.get_tensor(key)
                if tuple(tensor.shape) != tuple(expected[key].shape):
                    raise InvalidPair(f"{file}: tensor {key} has shape {tuple(tensor.shape)}, "
                                      f"expected {tuple(expected[key].shape)}")
                loaded[key] = tensor.to(expected[key].dtype)
    except (SafetensorError, OSError, ValueError) as err:
        raise InvalidPair(f"{file} is not a readable safetensors file ({err}); pickled checkpoints are never loaded") from None
    return loaded


def _load_extra(path: Path, manifest: Manifest) -> ExtraMembers | None:
    entry = manifest.extra_members
    if entry is None:
        return None
    file = path / EXTRA_FILE
    try:
        with safe_open(str(file), framework="pt") as handle:
            if set(handle.keys()) != {"images", "labels"}:
                raise InvalidPair(f"{file} must hold exactly 'images' and 'labels'")
            images, labels = handle.get_tensor("images"), handle.get_tensor("labels")
        extra = ExtraMembers(images, labels)
    except (SafetensorError, OSError, ValueError, AmintError) as err:
        raise InvalidPair(f"{file} is not a valid extra-member file: {err}") from None
    data = manifest.dataset
    if extra.sha256() != entry.sha256 or tuple(images.shape[1:]) != (data.channels, data.image_size, data.image_size):
        raise InvalidPair(f"{file} does not match the manifest (modified or corrupt)")
    return extra


def load_pair(path: str | Path, device: str = "auto") -> Pair:
    """Load and validate a pair: schema, member-list hash, weight hash, tensor names and shapes."""
    path = Path(path).resolve()
    manifest = read_manifest(path)
    if indices_sha256(read_members(path)) != manifest.splits.member_sha256:
        raise InvalidPair(f"{path}: {MEMBERS_FILE} does not match the member hash in the manifest")
    model, detector, guard = _build(manifest, path)
    state = _load_weights(path, manifest, _state(model, detector, guard))
    for prefix, module in (("model.", model), ("detector.", detector), ("guard.", guard)):
        if module is not None:
            module.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    target = pick_device(device)
    return Pair(path, manifest, model.to(target).eval(), detector.to(target).eval(), target,
                _load_extra(path, manifest), None if guard is None else guard.to(target))
