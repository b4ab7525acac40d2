"""What the methods that audit a frozen plain model share (passive MINT, gradient MINT, loss threshold).

The audited model is trained without the MINT term (or given, `--init-from`) and then frozen; the detector is
fitted on part of D (label 1) against as many images of E (label 0), and the rest of D is reported separately.
"""
from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable

import torch

from amint_demo.data import ImageDataset, Splits
from amint_demo.methods.base import Detector, Method, TrainingRun
from amint_demo.methods.trained import TrainedModel
from amint_demo.methods.batches import ImageBatches
from amint_demo.methods.config import TrainConfig
from amint_demo.methods.joint import start_model, train_joint
from amint_demo.methods.progress import TrainCallbacks, TrainingStopped
from amint_demo.models import AuditableModel


def split_members_for_head(splits: Splits, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Members the detector is fitted on, and members it never sees (reported separately). Both sorted (K,)."""
    order = splits.members[torch.randperm(len(splits.members), generator=torch.Generator().manual_seed(seed))]
    k = max(1, min(len(order) - 1, round(fraction * len(order))))
    return order[:k].sort().values, order[k:].sort().values


def external_draw(splits: Splits, n: int, seed: int) -> torch.Tensor:
    """A seeded draw of up to n images of the E pool, sorted (n,)."""
    order = splits.external[torch.randperm(len(splits.external), generator=torch.Generator().manual_seed(seed + 1))]
    return order[:n].sort().values


def freeze(model: AuditableModel) -> None:
    """Evaluation mode (batch-norm statistics fixed) and no gradients into the backbone."""
    model.eval()
    for p in model.backbone.parameters():
        p.requires_grad_(False)


def per_sample(dataset: ImageDataset, index: torch.Tensor, device: torch.device, batch_size: int,
               feature_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               callbacks: TrainCallbacks) -> torch.Tensor:
    """feature_fn(x (B, C, H, W), y (B,)) -> (B, ...) over the train images at `index`, on the CPU: (N, ...)."""
    batches = ImageBatches.train_split(dataset, device)
    parts = []
    for i, (x, y) in enumerate(batches.iterate(index, batch_size)):
        if callbacks.should_stop():
            raise TrainingStopped("training stopped by request")
        parts.append(feature_fn(x, y).detach().cpu())
        callbacks.on_step(i + 1, math.ceil(len(index) / batch_size))
    return torch.cat(parts)


class FrozenModelMethod(Method):
    """A method whose detector reads a frozen plain model (trained here unless `run.init` is given)."""

    fits_on_part_of_members = True

    def fit(self, run: TrainingRun) -> TrainedModel:
        config = run.config
        history: dict[str, list[dict]] = {}
        model = start_model(config, run.dataset, run.init, with_head=False)
        if run.init is None:
            run.callbacks.stage("plain training")
            history["plain"], _ = train_joint(run, model)
        model.to(run.device)
        head_members = self.head_members(run.splits, config)
        freeze(model)
        detector, head_history, external_use = self.fit_detector(run, model, head_members)
        if head_history is not None:
            history["head"] = head_history
        return TrainedModel(model, detector.to(run.device), history, head_members, external_use)

    def head_members(self, splits: Splits, config: TrainConfig) -> torch.Tensor:
        return split_members_for_head(splits, config.head_member_fraction, config.seed)[0]

    @abstractmethod
    def fit_detector(self, run: TrainingRun, model: AuditableModel,
                     head_members: torch.Tensor) -> tuple[Detector, list[dict] | None, dict]:
        """Fit the detector on `head_members` (1) against images of the E pool (`run.splits.external`, 0), drawn
        so that none comes back more than a few times. Returns it, its per-epoch history (None when it has no
        epochs) and how often E images were seen (`ShuffledStream.use`)."""
