"""Scoring: normalised images -> what a user is told (membership probability, class, maps, guard verdict)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from amint_demo.methods.base import Detector
from amint_demo.methods.calibration import BetaCalibrator
from amint_demo.methods.guard import PixelDensityGuard
from amint_demo.methods.saliency import grad_cam
from amint_demo.models import AuditableModel


class Scores(NamedTuple):
    membership: torch.Tensor  # (B,) the probability shown: calibrated, 0 where the guard rules membership out
    class_probs: torch.Tensor  # (B, K)
    maps: list[torch.Tensor]  # per tap (B, C, H, W)
    logits: torch.Tensor  # (B,) the detector's raw membership logits
    detector_probability: torch.Tensor  # (B,) calibrated, before the guard
    ood_score: torch.Tensor | None  # (B,) the guard's score (higher: less like the training data), None without
    in_distribution: torch.Tensor  # (B,) bool: the guard finds the image like the training data
    cams: list[torch.Tensor] | None = None  # per tap (B, H, W) Grad-CAM of the logit, when asked for and meaningful


@dataclass
class MembershipTest:
    """An audited model with its detector, calibration and out-of-distribution guard: one call scores a batch."""

    model: AuditableModel
    detector: Detector
    calibrator: BetaCalibrator | None = None  # None: the logit's sigmoid (pairs of schema 1 and 2)
    guard: PixelDensityGuard | None = None  # None: no image is ruled out

    def score(self, x: torch.Tensor, labels: torch.Tensor | None = None, explain: bool = False) -> Scores:
        """x (B, C, H, W) normalised; labels (B,) when known (the loss and gradient methods use them). `explain`:
        also the Grad-CAM of the membership logit over the tapped maps (`saliency.grad_cam`), from the same
        forward pass; only for detectors that read the maps."""
        explain = explain and self.detector.explains_maps
        with torch.set_grad_enabled(explain):
            output = self.model(x)
            logits = self.detector.membership_logits(self.model, x, output, labels).float()
            cams = grad_cam(logits, output.maps) if explain else None
        with torch.no_grad():
            logits = logits.detach()
            probability = (self.calibrator or BetaCalibrator()).probability(logits)
            if self.guard is None:
                ood, inside = None, torch.ones_like(probability, dtype=torch.bool)
            else:
                pixels = self.guard.pixels(x)
                ood = self.guard.score(pixels)
                inside = self.guard.in_distribution(pixels, ood)
        return Scores(torch.where(inside, probability, torch.zeros_like(probability)),
                      torch.softmax(output.class_logits.detach().float(), 1), [m.detach() for m in output.maps], logits,
                      probability, ood, inside, cams)

    def to(self, device: torch.device) -> MembershipTest:
        self.model.to(device).eval()
        self.detector.to(device).eval()
        if self.guard is not None:
            self.guard.to(device)
        return self


def score(model: AuditableModel, detector: Detector, x: torch.Tensor, labels: torch.Tensor | None = None) -> Scores:
    """The uncalibrated, unguarded scores of `model` + `detector` (as schema 1 and 2 pairs score)."""
    return MembershipTest(model, detector).score(x, labels)
