"""The evaluation protocol: balanced members vs held-out T, task accuracy on T (README, "Evaluation protocol")."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from amint_demo.data import ImageDataset, Splits
from amint_demo.errors import InvalidConfig
from amint_demo.evaluation.metrics import MembershipMetrics, membership_metrics
from amint_demo.methods import Detector, score
from amint_demo.methods.batches import ImageBatches
from amint_demo.models import AuditableModel


@dataclass(frozen=True)
class EvaluationResult:
    """`members_vs_test`: |T| members drawn from D against T. `unseen_members_vs_test`: only members
    the detector was not fitted on (passive, gradient, loss). `extra_members_vs_test`: a user's own added
    members against T. `task_accuracy`: audited model on T."""

    members_vs_test: MembershipMetrics
    unseen_members_vs_test: MembershipMetrics | None
    task_accuracy: float
    n_test: int
    seed: int
    extra_members_vs_test: MembershipMetrics | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["members_vs_test"] = self.members_vs_test.to_dict()
        for key in ("unseen_members_vs_test", "extra_members_vs_test"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key).to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> EvaluationResult:
        optional = {key: MembershipMetrics.from_dict(data[key]) if data.get(key) else None
                    for key in ("unseen_members_vs_test", "extra_members_vs_test")}
        return cls(MembershipMetrics.from_dict(data["members_vs_test"]), optional["unseen_members_vs_test"],
                   float(data["task_accuracy"]), int(data["n_test"]), int(data["seed"]),
                   optional["extra_members_vs_test"])

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    def headline(self) -> dict[str, float]:
        return self.members_vs_test.headline() | {"task_accuracy": self.task_accuracy}


def _draw(index: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    return index[torch.randperm(len(index), generator=torch.Generator().manual_seed(seed))[:n]]


def _scores(model: AuditableModel, detector: Detector, batches: ImageBatches, index: torch.Tensor,
            batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(membership probabilities, correct predictions) over the images at `index`."""
    probs, correct = [], []
    for x, y in batches.iterate(index, batch_size):
        result = score(model, detector, x, y)
        probs.append(result.membership.cpu())
        correct.append((result.class_probs.argmax(1) == y).cpu())
    return torch.cat(probs).numpy(), torch.cat(correct).numpy()


def evaluate(model: AuditableModel, detector: Detector, dataset: ImageDataset, splits: Splits,
             head_members: torch.Tensor | None, device: torch.device, n_test: int | None = None,
             seed: int = 0, batch_size: int = 256, extra: torch.Tensor | None = None) -> EvaluationResult:
    """Score T (or n_test of it) against the same number of members; never tunes anything on T.
    `extra`: indices of a user's added members, reported against T on their own."""
    if n_test is not None and n_test < 1:
        raise InvalidConfig(f"n_test must be at least 1, got {n_test}")
    model.to(device).eval()
    detector.to(device).eval()
    test = splits.test if n_test is None else _draw(splits.test, n_test, seed)
    test_probs, test_correct = _scores(model, detector, ImageBatches.test_split(dataset, device), test, batch_size)
    train_batches = ImageBatches.train_split(dataset, device)
    members = _draw(splits.members, len(test), seed)
    member_probs, _ = _scores(model, detector, train_batches, members, batch_size)
    unseen_metrics = None
    if head_members is not None:
        unseen = splits.members[~torch.isin(splits.members, head_members)]
        unseen_probs, _ = _scores(model, detector, train_batches, _draw(unseen, len(test), seed), batch_size)
        unseen_metrics = membership_metrics(unseen_probs, test_probs)
    extra_metrics = None
    if extra is not None and len(extra):
        extra_metrics = membership_metrics(_scores(model, detector, train_batches, extra, batch_size)[0], test_probs)
    return EvaluationResult(membership_metrics(member_probs, test_probs), unseen_metrics,
                            float(test_correct.mean()), len(test), seed, extra_metrics)
