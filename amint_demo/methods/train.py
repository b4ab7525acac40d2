"""One entry point per run: the registered method trains, then the membership probability is calibrated and the
out-of-distribution guard fitted, both on held-out training images (never T)."""
from __future__ import annotations

import torch

from amint_demo.data import ImageDataset, Splits, calibration_draw
from amint_demo.methods.base import TrainingRun
from amint_demo.methods.batches import ImageBatches
from amint_demo.methods.calibration import fit_beta
from amint_demo.methods.checkpoint import EpochCheckpoint
from amint_demo.methods.config import TrainConfig
from amint_demo.methods.distributed import DistContext
from amint_demo.methods.guard import MAX_FIT_IMAGES, fit_guard
from amint_demo.methods.progress import TrainCallbacks
from amint_demo.methods.registry import get_method
from amint_demo.methods.scoring import MembershipTest
from amint_demo.methods.trained import TrainedModel
from amint_demo.models import AuditableModel


def collect_logits(test: MembershipTest, batches: ImageBatches, index: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Raw detector logits (N,) of the train images at `index`, true labels used."""
    return torch.cat([test.score(x, y).logits.cpu() for x, y in batches.iterate(index, batch_size)])


def calibrate_and_guard(trained: TrainedModel, dataset: ImageDataset, splits: Splits, config: TrainConfig,
                        device: torch.device, focus: torch.Tensor | None = None) -> None:
    """Fit the beta calibrator on `calibration_size` members vs as many held-out images, and the guard on the
    members' pixels (a user's own members, `focus`, as exceptions), thresholded on the held-out images. Both join
    `trained` and its history; nothing happens when train has no held-out image."""
    members, held_out = calibration_draw(splits, len(dataset.train_labels), config.calibration_size, config.seed)
    if not len(held_out):
        return
    batches, batch_size = ImageBatches.train_split(dataset, device), config.batch_size * 4
    test = MembershipTest(trained.model, trained.detector).to(device)
    trained.calibrator = fit_beta(collect_logits(test, batches, members, batch_size).numpy(),
                                  collect_logits(test, batches, held_out, batch_size).numpy())
    trained.history["calibration"] = [trained.calibrator.to_dict() | {"kind": "beta", "n_members": len(members),
                                                                      "n_nonmembers": len(held_out)}]
    fit_members = splits.members[torch.randperm(len(splits.members), generator=torch.Generator().manual_seed(
        config.seed + 4))[:MAX_FIT_IMAGES]]
    extras = None if focus is None or not len(focus) else dataset.train_images[focus]
    trained.guard, record = fit_guard(dataset.train_images[fit_members], dataset.train_images[held_out],
                                      dataset.mean, dataset.std, extras)
    trained.guard.to(device)
    trained.history["guard"] = [record]


def train(config: TrainConfig, dataset: ImageDataset, splits: Splits, device: torch.device,
          callbacks: TrainCallbacks | None = None, init: AuditableModel | None = None,
          context: DistContext = DistContext(), focus: torch.Tensor | None = None,
          checkpoint: EpochCheckpoint | None = None) -> TrainedModel:
    """Run `config.method` on D / E of `splits` (T is never touched here); see `TrainingRun` for `init`, `focus`
    and `checkpoint`."""
    run = TrainingRun(config, dataset, splits, device, callbacks or TrainCallbacks(), init, context, focus, checkpoint)
    torch.manual_seed(config.seed)
    trained = get_method(config.method).fit(run)
    if config.calibration_size > 0:
        run.callbacks.stage("calibration and out-of-distribution guard")
        calibrate_and_guard(trained, dataset, splits, config, device, focus)
    return trained
