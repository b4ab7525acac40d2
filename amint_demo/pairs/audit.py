"""Auditing PIL images with a pair's model: verdicts with class and per-tap activation maps."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from amint_demo.methods import Scores
from amint_demo.models import AuditableModel


@dataclass(frozen=True)
class AuditVerdict:
    """One image's answer. `membership_probability`: calibrated, and 0 when the guard finds the image unlike the
    training data (`in_distribution` False): such an image cannot be a member, whatever the detector says
    (`detector_probability`). `ood_score` and `ood_threshold`: the guard's score and its limit (None without a
    guard). `maps`: tap module name -> (H, W) float32 in [0, 1] (mean |activation|);
    `membership_maps`: the same taps' Grad-CAM of the membership logit (only when asked for, and only for
    detectors that read the maps)."""

    membership_probability: float
    predicted_class: int
    predicted_label: str
    confidence: float
    maps: dict[str, np.ndarray]
    model_input: np.ndarray  # uint8 (S, S) or (S, S, 3): the image as the model saw it
    membership_maps: dict[str, np.ndarray] | None = None
    detector_probability: float | None = None
    in_distribution: bool = True
    ood_score: float | None = None
    ood_threshold: float | None = None

    @property
    def is_member(self) -> bool:
        return self.membership_probability >= 0.5

    @property
    def verdict(self) -> str:
        return "member" if self.is_member else "non-member"

    def to_row(self) -> dict[str, object]:
        return {"membership_probability": round(self.membership_probability, 6), "verdict": self.verdict,
                "in_distribution": self.in_distribution,
                "detector_probability": None if self.detector_probability is None else round(self.detector_probability, 6),
                "predicted_class": self.predicted_class, "predicted_label": self.predicted_label,
                "confidence": round(self.confidence, 6)}


def heat_maps(maps: list[torch.Tensor]) -> list[np.ndarray]:
    """Per tap (B, C, H, W) -> per tap (B, H, W) mean |activation|, scaled to [0, 1] per image."""
    result = []
    for tap in maps:
        heat = tap.float().abs().mean(1)
        low = heat.amin(dim=(1, 2), keepdim=True)
        span = (heat.amax(dim=(1, 2), keepdim=True) - low).clamp_min(1e-12)
        result.append(((heat - low) / span).cpu().numpy())
    return result


def verdicts(model: AuditableModel, pixels: torch.Tensor, scores: Scores, class_names: list[str],
             ood_threshold: float | None = None) -> list[AuditVerdict]:
    """Assemble per-image verdicts. pixels: uint8 (B, C, S, S)."""
    confidence, predicted = scores.class_probs.cpu().max(1)
    heats = heat_maps(scores.maps)
    images = pixels.permute(0, 2, 3, 1).numpy()
    membership, detector = scores.membership.cpu(), scores.detector_probability.cpu()
    inside = scores.in_distribution.cpu()
    ood = None if scores.ood_score is None else scores.ood_score.cpu()
    return [AuditVerdict(float(membership[i]), int(predicted[i]), class_names[int(predicted[i])], float(confidence[i]),
                         {name: heats[t][i] for t, name in enumerate(model.taps)},
                         images[i, :, :, 0] if images.shape[-1] == 1 else images[i],
                         None if scores.cams is None else {name: scores.cams[t][i].numpy()
                                                           for t, name in enumerate(model.taps)},
                         float(detector[i]), bool(inside[i]), None if ood is None else float(ood[i]), ood_threshold)
            for i in range(len(pixels))]
