"""Membership metrics: balanced accuracy at 0.5, ROC AUC, TPR at 1% and 0.1% FPR (Carlini et al., LiRA), ROC points."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

MAX_ROC_POINTS = 200


@dataclass(frozen=True)
class MembershipMetrics:
    balanced_accuracy: float
    auc: float
    tpr_at_1pct_fpr: float
    tpr_at_01pct_fpr: float
    n_members: int
    n_nonmembers: int
    roc_fpr: tuple[float, ...]
    roc_tpr: tuple[float, ...]

    def to_dict(self) -> dict:
        return asdict(self) | {"roc_fpr": list(self.roc_fpr), "roc_tpr": list(self.roc_tpr)}

    @classmethod
    def from_dict(cls, data: dict) -> MembershipMetrics:
        return cls(**(data | {"roc_fpr": tuple(data["roc_fpr"]), "roc_tpr": tuple(data["roc_tpr"])}))

    def headline(self) -> dict[str, float]:
        return {"balanced_accuracy": self.balanced_accuracy, "auc": self.auc,
                "tpr_at_1pct_fpr": self.tpr_at_1pct_fpr, "tpr_at_01pct_fpr": self.tpr_at_01pct_fpr}


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, max_fpr: float) -> float:
    """Highest TPR reachable with FPR ≤ max_fpr (0 when no threshold gets there)."""
    allowed = fpr <= max_fpr
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def _thin(fpr: np.ndarray, tpr: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """At most MAX_ROC_POINTS points, log-spaced in FPR so the low-FPR end keeps its detail."""
    if len(fpr) <= MAX_ROC_POINTS:
        return tuple(map(float, fpr)), tuple(map(float, tpr))
    grid = np.unique(np.r_[0.0, np.geomspace(1e-5, 1.0, MAX_ROC_POINTS - 1)])
    picked = np.unique(np.searchsorted(fpr, grid, side="right") - 1).clip(0)
    return tuple(map(float, fpr[picked])), tuple(map(float, tpr[picked]))


def membership_metrics(member_probs: np.ndarray, nonmember_probs: np.ndarray) -> MembershipMetrics:
    """Probabilities (any length, both non-empty) -> metrics; members are the positive class."""
    member_probs, nonmember_probs = np.asarray(member_probs, float), np.asarray(nonmember_probs, float)
    if not len(member_probs) or not len(nonmember_probs):
        raise ValueError("need at least one member and one non-member score")
    scores = np.r_[member_probs, nonmember_probs]
    truth = np.r_[np.ones(len(member_probs)), np.zeros(len(nonmember_probs))]
    fpr, tpr, _ = roc_curve(truth, scores)
    balanced = 0.5 * ((member_probs >= 0.5).mean() + (nonmember_probs < 0.5).mean())
    roc_fpr, roc_tpr = _thin(fpr, tpr)
    return MembershipMetrics(float(balanced), float(roc_auc_score(truth, scores)), tpr_at_fpr(fpr, tpr, 0.01),
                             tpr_at_fpr(fpr, tpr, 0.001), len(member_probs), len(nonmember_probs), roc_fpr, roc_tpr)
