"""Membership metrics: balanced accuracy at 0.5, ROC AUC, TPR at 1% and 0.1% FPR (Carlini et al., LiRA), ROC points."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

MAX_ROC_POINTS = 200
CALIBRATION_BINS = 10  # expected calibration error and the reliability diagram
HISTOGRAM_BINS = 20  # member / non-member probability histograms


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
    # Calibration (absent from schema 1 and 2 pairs): expected calibration error over CALIBRATION_BINS equal-width
    # bins, and per bin the images, their mean probability and the share of them that are members.
    ece: float | None = None
    reliability_counts: tuple[int, ...] = ()
    reliability_probability: tuple[float, ...] = ()
    reliability_members: tuple[float, ...] = ()
    # How many members / non-members fall in each of HISTOGRAM_BINS equal-width probability bins.
    histogram_members: tuple[int, ...] = ()
    histogram_nonmembers: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> MembershipMetrics:
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})

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


def calibration_bins(probs: np.ndarray, is_member: np.ndarray, bins: int = CALIBRATION_BINS
                     ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(expected calibration error, counts, mean probability, share of members) over equal-width bins of [0, 1].
    Empty bins have probability and share NaN."""
    which = np.minimum((probs * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_probability = np.bincount(which, weights=probs, minlength=bins) / counts
        share_members = np.bincount(which, weights=is_member, minlength=bins) / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] / len(probs) * np.abs(share_members[filled] - mean_probability[filled])))
    return ece, counts, mean_probability, share_members


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
    ece, counts, mean_probability, share_members = calibration_bins(scores, truth)
    edges = np.linspace(0, 1, HISTOGRAM_BINS + 1)
    return MembershipMetrics(float(balanced), float(roc_auc_score(truth, scores)), tpr_at_fpr(fpr, tpr, 0.01),
                             tpr_at_fpr(fpr, tpr, 0.001), len(member_probs), len(nonmember_probs), roc_fpr, roc_tpr,
                             ece, tuple(int(c) for c in counts), tuple(float(p) for p in mean_probability),
                             tuple(float(s) for s in share_members),
                             tuple(int(c) for c in np.histogram(member_probs, edges)[0]),
                             tuple(int(c) for c in np.histogram(nonmember_probs, edges)[0]))
