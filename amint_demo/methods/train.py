"""One entry point per run: the registered method trains, then the detector's threshold is calibrated."""
from __future__ import annotations

import torch

from amint_demo.data import ImageDataset, Splits
from amint_demo.methods.base import TrainedModel, TrainingRun
from amint_demo.methods.calibration import calibrate_on_unused
from amint_demo.methods.config import TrainConfig
from amint_demo.methods.distributed import DistContext
from amint_demo.methods.progress import TrainCallbacks
from amint_demo.methods.registry import get_method
from amint_demo.models import AuditableModel


def train(config: TrainConfig, dataset: ImageDataset, splits: Splits, device: torch.device,
          callbacks: TrainCallbacks | None = None, init: AuditableModel | None = None,
          context: DistContext = DistContext(), focus: torch.Tensor | None = None) -> TrainedModel:
    """Run `config.method` on D / E of `splits` (T is never touched here); see `TrainingRun` for `init`, `focus`."""
    run = TrainingRun(config, dataset, splits, device, callbacks or TrainCallbacks(), init, context, focus)
    torch.manual_seed(config.seed)
    trained = get_method(config.method).fit(run)
    if config.calibration_size > 0:
        run.callbacks.stage("threshold calibration")
        record = calibrate_on_unused(trained.model, trained.detector, dataset, splits, config.calibration_size,
                                     config.seed, device, config.batch_size * 4)
        if record is not None:
            trained.history["calibration"] = [record]
    return trained
