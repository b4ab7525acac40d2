"""One entry point per run: train the audited model and/or fit its membership detector."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from amint_demo.data import ImageDataset, Splits
from amint_demo.errors import InvalidConfig
from amint_demo.methods.calibration import calibrate_on_unused
from amint_demo.methods.config import TrainConfig
from amint_demo.methods.detectors import Detector, HeadDetector
from amint_demo.methods.distributed import DistContext
from amint_demo.methods.frozen import (external_for_head, fit_gradient_detector, fit_loss_threshold,
                                       fit_passive_head, split_members_for_head)
from amint_demo.methods.joint import build_model, train_joint
from amint_demo.methods.progress import TrainCallbacks
from amint_demo.models import AuditableModel


@dataclass
class TrainedModel:
    """The result of a run: audited model, its detector, per-epoch history, and the members the detector saw."""

    model: AuditableModel
    detector: Detector
    history: dict[str, list[dict]] = field(default_factory=dict)
    head_members: torch.Tensor | None = None  # None for aMINT (the whole of D trained the head)


def _start_model(config: TrainConfig, dataset: ImageDataset, init: AuditableModel | None, with_head: bool) -> AuditableModel:
    """A fresh model, or one initialised from an existing pair's model (fine-tuning)."""
    model = build_model(config, dataset, with_head)
    if init is None:
        return model
    if init.spec != model.spec:
        raise InvalidConfig(f"cannot start from a {init.spec.arch} pair for {dataset.name}/{config.arch}: "
                            "architecture, input size, channels and classes must match")
    model.backbone.load_state_dict(init.backbone.state_dict())
    if with_head and init.head is not None and init.taps == model.taps and init.head_kind == model.head_kind:
        model.head.load_state_dict(init.head.state_dict())
    return model


def train(config: TrainConfig, dataset: ImageDataset, splits: Splits, device: torch.device,
          callbacks: TrainCallbacks | None = None, init: AuditableModel | None = None,
          context: DistContext = DistContext(), focus: torch.Tensor | None = None) -> TrainedModel:
    """Run `config.method` on D / E of `splits` (T is never touched here); `focus`: see `train_joint`."""
    callbacks = callbacks or TrainCallbacks()
    torch.manual_seed(config.seed)
    if config.method == "amint":
        model = _start_model(config, dataset, init, with_head=True)
        callbacks.stage("aMINT joint training")
        history = {"joint": train_joint(config, dataset, splits, model, device, callbacks, context, focus)}
        return _calibrated(TrainedModel(model.to(device), HeadDetector(), history), config, dataset, splits, device,
                           callbacks)

    if init is not None:  # the given model is the frozen audited model (its spec must match)
        model, history = _start_model(config, dataset, init, with_head=False).to(device), {}
    else:
        model = _start_model(config, dataset, None, with_head=False)
        callbacks.stage("plain training")
        history = {"plain": train_joint(config, dataset, splits, model, device, callbacks, context, focus)}
    head_members, _ = split_members_for_head(splits, config.head_member_fraction, config.seed)
    external = external_for_head(splits, len(head_members), config.seed)
    if config.method == "loss":
        callbacks.stage("loss threshold")
        detector = fit_loss_threshold(dataset, model, head_members, external, device, config.batch_size * 4, callbacks)
    elif config.method == "passive":
        callbacks.stage("passive MINT head")
        history["head"] = fit_passive_head(config, dataset, model, head_members, external, device, callbacks)
        detector = HeadDetector()
    else:
        detector, history["head"] = fit_gradient_detector(config, dataset, model, head_members, external, device, callbacks)
    return _calibrated(TrainedModel(model, detector, history, head_members), config, dataset, splits, device, callbacks)


def _calibrated(trained: TrainedModel, config: TrainConfig, dataset: ImageDataset, splits: Splits,
                device: torch.device, callbacks: TrainCallbacks) -> TrainedModel:
    """Calibrate the detector's threshold (see methods.calibration); the record joins the history."""
    if config.calibration_size == 0:
        return trained
    callbacks.stage("threshold calibration")
    record = calibrate_on_unused(trained.model, trained.detector, dataset, splits, config.calibration_size,
                                 config.seed, device, config.batch_size * 4)
    if record is not None:
        trained.history["calibration"] = [record]
    return trained
