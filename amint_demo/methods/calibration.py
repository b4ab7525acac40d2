"""The membership probability, calibrated: beta calibration (Kull, Silva Filho & Flach, AISTATS 2017), a
logistic regression (scikit-learn) on log s and -log(1 - s) of the detector's sigmoid s, fitted on members
against held-out training images that no detector trained on; T is never used.

With both coefficients kept non-negative the map is strictly increasing: it changes no ranking (AUC and TPR at
a given FPR are the raw detector's) and only makes the probability a probability. Equal numbers of members and
held-out images make 0.5 the balanced decision threshold. Platt scaling, isotonic regression and this are
compared on a committed pair by scripts/measure_trust_choices.py (README, "Why you can trust a verdict").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class BetaCalibrator:
    """probability = sigmoid(a · log s − b · log(1 − s) + c), s = sigmoid(logit); a, b >= 0, not both 0. The
    default (a = 1, b = 1, c = 0) is the identity: probability = s."""

    a: float = 1.0
    b: float = 1.0
    c: float = 0.0

    def probability(self, logits: torch.Tensor) -> torch.Tensor:
        """(B,) raw detector logits -> (B,) calibrated membership probabilities."""
        z = logits.double()
        return torch.sigmoid(self.a * F.logsigmoid(z) - self.b * F.logsigmoid(-z) + self.c).float()

    def to_dict(self) -> dict:
        return asdict(self)


def _features(logits: np.ndarray) -> np.ndarray:
    z = torch.from_numpy(np.asarray(logits, dtype=np.float64))
    return torch.stack([F.logsigmoid(z), -F.logsigmoid(-z)], 1).numpy()


def fit_beta(member_logits: np.ndarray, nonmember_logits: np.ndarray) -> BetaCalibrator:
    """(N,), (M,) raw logits -> the calibrator (unregularised logistic fit, classes weighted equally). A feature
    whose coefficient comes out negative is dropped and the fit repeated, as the method prescribes."""
    x = _features(np.r_[member_logits, nonmember_logits])
    y = np.r_[np.ones(len(member_logits)), np.zeros(len(nonmember_logits))]
    keep = [0, 1]
    while keep:
        fit = LogisticRegression(C=1e6, class_weight="balanced", max_iter=1000).fit(x[:, keep], y)
        coef = dict(zip(keep, fit.coef_[0]))
        if all(value >= 0 for value in coef.values()):
            return BetaCalibrator(float(coef.get(0, 0.0)), float(coef.get(1, 0.0)), float(fit.intercept_[0]))
        keep.remove(min(coef, key=coef.get))
    return BetaCalibrator(0.0, 1e-6, 0.0)  # no better than chance: every image gets about one half
