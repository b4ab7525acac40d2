"""The loss-threshold baseline (Yeom et al., CSF 2018) on the plain model: members tend to have a lower loss.

Its pair is also the plain model itself (same recipe, no MINT term): the reference for the cost of auditability.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

from amint_demo.methods.base import Detector, TrainingRun, labels_or_predictions
from amint_demo.methods.batches import ShuffledStream
from amint_demo.methods.frozen_base import FrozenModelMethod, per_sample
from amint_demo.methods.registry import register_method
from amint_demo.models import AuditableModel, AuditOutput


class LossDetector(Detector):
    """logit = a·log(loss) + b, fitted on E vs a part of D, never on T."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("coef", torch.zeros(()))
        self.register_buffer("intercept", torch.zeros(()))

    @staticmethod
    def features(output: AuditOutput, labels: torch.Tensor) -> torch.Tensor:
        """(B,) log of the per-sample cross-entropy."""
        loss = F.cross_entropy(output.class_logits.float(), labels, reduction="none")
        return torch.log(loss.clamp_min(1e-12))

    def membership_logits(self, model, x, output, labels):
        return self.coef * self.features(output, labels_or_predictions(output, labels)) + self.intercept



@register_method
class LossThreshold(FrozenModelMethod):
    name = "loss"
    title = "Loss threshold (plain model)"
    help = ("plain training (no MINT term) + loss-threshold baseline (Yeom et al.); the reference for the cost of "
            "auditability")
    reads_taps = False
    plain_reference = True

    def fit_detector(self, run: TrainingRun, model: AuditableModel,
                     head_members: torch.Tensor) -> tuple[Detector, None, dict]:
        """Logistic fit of membership on log-loss over head_members (1) vs as many E images, each seen once (0)."""
        run.callbacks.stage("loss threshold")
        pool = ShuffledStream(run.splits.external, torch.Generator().manual_seed(run.config.seed + 1))
        external = pool.next_batch(min(len(head_members), len(run.splits.external)))

        def log_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return LossDetector.features(model(x), y)

        batch = run.config.batch_size * 4
        features = torch.cat([per_sample(run.dataset, index, run.device, batch, log_loss, run.callbacks)
                              for index in (head_members, external)]).numpy()[:, None]
        target = np.r_[np.ones(len(head_members)), np.zeros(len(external))]
        fit = LogisticRegression(class_weight="balanced").fit(features, target)
        detector = LossDetector()
        detector.coef.fill_(float(fit.coef_[0, 0]))
        detector.intercept.fill_(float(fit.intercept_[0]))
        return detector, None, pool.use()

    def build_detector(self, section: dict) -> Detector:
        return LossDetector()
