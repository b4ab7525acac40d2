"""The result of one training run: audited model, detector, calibration, guard and what the run recorded."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from amint_demo.methods.base import Detector
from amint_demo.methods.calibration import BetaCalibrator
from amint_demo.methods.guard import PixelDensityGuard
from amint_demo.methods.scoring import MembershipTest
from amint_demo.models import AuditableModel


@dataclass
class TrainedModel:
    """The result of a run: audited model, its detector, per-stage history, and the members the detector saw."""

    model: AuditableModel
    detector: Detector
    history: dict[str, list[dict]] = field(default_factory=dict)
    head_members: torch.Tensor | None = None  # None when the whole of D trained the detector (aMINT)
    external_use: dict | None = None  # how often the detector saw each E image (`ShuffledStream.use`)
    calibrator: BetaCalibrator | None = None  # fitted after training on held-out images (`methods.train`)
    guard: PixelDensityGuard | None = None

    @property
    def test(self) -> MembershipTest:
        """The model, detector, calibration and guard as one membership test."""
        return MembershipTest(self.model, self.detector, self.calibrator, self.guard)
