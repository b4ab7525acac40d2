"""The evaluation protocol: balanced members vs held-out T, task accuracy on T, how often out-of-distribution
images are called members, and a user's own members against images of their own kind (README, "Evaluation
protocol"). Nothing is tuned here."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from amint_demo.data import ImageDataset, Splits, normalize
from amint_demo.errors import InvalidConfig
from amint_demo.evaluation.metrics import MembershipMetrics, membership_metrics
from amint_demo.methods import MembershipTest
from amint_demo.methods.batches import ImageBatches

METRIC_FIELDS = ("members_vs_test", "unseen_members_vs_test", "extra_members_vs_test", "extra_members_vs_controls")


@dataclass(frozen=True)
class OodCheck:
    """Out-of-distribution images (photos, faces, crops of photos: none can be a member): how many the pair calls
    members, and how many its guard rules out before the detector is asked."""

    n_images: int
    called_members: int
    ruled_out: int

    @property
    def member_rate(self) -> float:
        return self.called_members / self.n_images


@dataclass(frozen=True)
class ControlledUploads:
    """A user's own members against images of their kind that no model saw (`control_kind`): how many of each the
    pair calls members, and how many controls the detector alone would (before the guard)."""

    n_uploads: int
    uploads_flagged: int
    n_controls: int
    controls_flagged: int
    controls_flagged_by_detector: int
    control_kind: str


@dataclass(frozen=True)
class EvaluationResult:
    """`members_vs_test`: |T| members drawn from D against T. `unseen_members_vs_test`: only members the detector
    was not fitted on (methods fitted on part of D). `extra_members_vs_controls`: a user's own added members
    against images of the same kind that no model saw (`extra_members_vs_test`, the same members against T, is
    kept for pairs written before the controls existed: photos against clothing is no comparison). `ood_check`:
    the out-of-distribution check set. `test_ruled_out`: share of T the guard rules out (in-distribution images it
    should keep). `task_accuracy`: audited model on T."""

    members_vs_test: MembershipMetrics
    unseen_members_vs_test: MembershipMetrics | None
    task_accuracy: float
    n_test: int
    seed: int
    extra_members_vs_test: MembershipMetrics | None = None
    extra_members_vs_controls: MembershipMetrics | None = None
    ood_check: OodCheck | None = None
    test_ruled_out: float | None = None
    uploads: ControlledUploads | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in METRIC_FIELDS:
            if getattr(self, key) is not None:
                data[key] = getattr(self, key).to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> EvaluationResult:
        metrics = {key: MembershipMetrics.from_dict(data[key]) if data.get(key) else None for key in METRIC_FIELDS}
        ood = OodCheck(**data["ood_check"]) if data.get("ood_check") else None
        uploads = ControlledUploads(**data["uploads"]) if data.get("uploads") else None
        return cls(metrics["members_vs_test"], metrics["unseen_members_vs_test"], float(data["task_accuracy"]),
                   int(data["n_test"]), int(data["seed"]), metrics["extra_members_vs_test"],
                   metrics["extra_members_vs_controls"], ood, data.get("test_ruled_out"), uploads)

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    def headline(self) -> dict[str, float]:
        head = self.members_vs_test.headline() | {"task_accuracy": self.task_accuracy}
        if self.members_vs_test.ece is not None:
            head["ece"] = self.members_vs_test.ece
        if self.ood_check is not None:
            head["ood_member_rate"] = self.ood_check.member_rate
        return head


def _draw(index: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    return index[torch.randperm(len(index), generator=torch.Generator().manual_seed(seed))[:n]]


def _scores(test: MembershipTest, batches, batch_size: int) -> tuple[np.ndarray, ...]:
    """(membership probabilities shown, correct predictions, ruled out by the guard, the detector's probabilities)
    over `batches` ((x, y) pairs, y None when unknown)."""
    probs, correct, ruled_out, detector = [], [], [], []
    for x, y in batches:
        result = test.score(x, y)
        probs.append(result.membership.cpu())
        predicted = result.class_probs.argmax(1)
        correct.append((predicted == (predicted if y is None else y)).cpu())
        ruled_out.append((~result.in_distribution).cpu())
        detector.append(result.detector_probability.cpu())
    return tuple(torch.cat(part).numpy() for part in (probs, correct, ruled_out, detector))


def _pixels(dataset: ImageDataset, pixels: torch.Tensor, device: torch.device, batch_size: int):
    """Batches of uint8 (N, C, S, S) images without labels, normalised as the dataset."""
    for start in range(0, len(pixels), batch_size):
        yield normalize(pixels[start:start + batch_size].to(device), dataset.mean, dataset.std), None


def evaluate(test: MembershipTest, dataset: ImageDataset, splits: Splits, head_members: torch.Tensor | None,
             device: torch.device, n_test: int | None = None, seed: int = 0, batch_size: int = 256,
             extra: torch.Tensor | None = None, controls: torch.Tensor | None = None, control_kind: str = "",
             ood: torch.Tensor | None = None) -> EvaluationResult:
    """Score T (or n_test of it) against the same number of members; never tunes anything on T.
    `extra`: train indices of a user's added members, reported against `controls` (uint8 (N, C, S, S) images of
    the same kind no model saw, described by `control_kind`). `ood`: the out-of-distribution check set, uint8
    (N, C, S, S)."""
    if n_test is not None and n_test < 1:
        raise InvalidConfig(f"n_test must be at least 1, got {n_test}")
    test.to(device)
    held_out = splits.test if n_test is None else _draw(splits.test, n_test, seed)
    test_batches = ImageBatches.test_split(dataset, device)
    test_probs, test_correct, test_out, _ = _scores(test, test_batches.iterate(held_out, batch_size), batch_size)
    train_batches = ImageBatches.train_split(dataset, device)

    def train_probs(index: torch.Tensor) -> np.ndarray:
        return _scores(test, train_batches.iterate(index, batch_size), batch_size)[0]

    member_probs = train_probs(_draw(splits.members, len(held_out), seed))
    unseen_metrics = None
    if head_members is not None:
        unseen = splits.members[~torch.isin(splits.members, head_members)]
        unseen_metrics = membership_metrics(train_probs(_draw(unseen, len(held_out), seed)), test_probs)
    extra_metrics = uploads = None
    if extra is not None and len(extra) and controls is not None and len(controls):
        control_probs, _, _, control_detector = _scores(test, _pixels(dataset, controls, device, batch_size), batch_size)
        extra_probs = train_probs(extra)
        extra_metrics = membership_metrics(extra_probs, control_probs)
        uploads = ControlledUploads(len(extra_probs), int((extra_probs >= 0.5).sum()), len(control_probs),
                                    int((control_probs >= 0.5).sum()), int((control_detector >= 0.5).sum()),
                                    control_kind)
    ood_check = None
    if ood is not None and len(ood):
        ood_probs, _, ood_out, _ = _scores(test, _pixels(dataset, ood, device, batch_size), batch_size)
        ood_check = OodCheck(len(ood), int((ood_probs >= 0.5).sum()), int(ood_out.sum()))
    return EvaluationResult(membership_metrics(member_probs, test_probs), unseen_metrics, float(test_correct.mean()),
                            len(held_out), seed, extra_members_vs_controls=extra_metrics, ood_check=ood_check,
                            test_ruled_out=float(test_out.mean()) if test.guard is not None else None,
                            uploads=uploads)
