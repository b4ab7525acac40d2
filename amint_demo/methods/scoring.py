"""Scoring: normalised images -> membership probability, class probabilities and tap maps."""
from __future__ import annotations

from typing import NamedTuple

import torch

from amint_demo.methods.base import Detector
from amint_demo.models import AuditableModel


class Scores(NamedTuple):
    membership: torch.Tensor  # (B,) probability of being a member
    class_probs: torch.Tensor  # (B, K)
    maps: list[torch.Tensor]  # per tap (B, C, H, W)


def score(model: AuditableModel, detector: Detector, x: torch.Tensor, labels: torch.Tensor | None = None) -> Scores:
    """x (B, C, H, W) normalised; labels (B,) when known (the loss and gradient methods use them)."""
    with torch.no_grad():
        output = model(x)
        logits = detector.membership_logits(model, x, output, labels)
    return Scores(torch.sigmoid(logits.float()), torch.softmax(output.class_logits.float(), 1), output.maps)
