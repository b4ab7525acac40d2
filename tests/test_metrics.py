"""Membership metrics agree with an independent computation and with hand-checked values."""
from __future__ import annotations

import numpy as np
import pytest

from amint_demo.evaluation import membership_metrics, tpr_at_fpr


def test_metrics_agree_with_an_independent_computation() -> None:
    """AUC by counting member/non-member pairs (Mann-Whitney), the rest by scanning every threshold."""
    rng = np.random.default_rng(0)
    members, nonmembers = np.round(rng.beta(3, 2, 1500), 3), np.round(rng.beta(2, 3, 1000), 3)  # with ties
    metrics = membership_metrics(members, nonmembers)
    above = (members[:, None] > nonmembers[None, :]).mean()
    ties = (members[:, None] == nonmembers[None, :]).mean()
    assert metrics.auc == pytest.approx(above + ties / 2, abs=1e-12)
    assert metrics.balanced_accuracy == pytest.approx(((members >= 0.5).mean() + (nonmembers < 0.5).mean()) / 2)
    thresholds = np.r_[np.unique(np.r_[members, nonmembers]), np.inf]
    tpr = np.array([(members >= t).mean() for t in thresholds])
    fpr = np.array([(nonmembers >= t).mean() for t in thresholds])
    assert metrics.tpr_at_1pct_fpr == pytest.approx(tpr[fpr <= 0.01].max())
    assert metrics.tpr_at_01pct_fpr == pytest.approx(tpr[fpr <= 0.001].max())
    assert 0 < metrics.tpr_at_01pct_fpr < metrics.tpr_at_1pct_fpr < 1  # the example exercises both cut-offs
    assert (metrics.n_members, metrics.n_nonmembers) == (1500, 1000)
    assert len(metrics.roc_fpr) <= 200 and metrics.roc_fpr[0] == 0.0 and metrics.roc_tpr[-1] == 1.0
    assert all(np.diff(metrics.roc_fpr) >= 0) and all(np.diff(metrics.roc_tpr) >= 0)


def test_hand_checked_values() -> None:
    perfect = membership_metrics(np.array([0.9, 0.8, 0.7]), np.array([0.1, 0.2, 0.3]))
    assert (perfect.auc, perfect.balanced_accuracy, perfect.tpr_at_1pct_fpr) == (1.0, 1.0, 1.0)
    inverted = membership_metrics(np.array([0.1, 0.2]), np.array([0.8, 0.9]))
    assert inverted.auc == 0.0 and inverted.balanced_accuracy == 0.0 and inverted.tpr_at_1pct_fpr == 0.0
    chance = membership_metrics(np.full(10, 0.5), np.full(10, 0.5))
    assert chance.auc == 0.5 and chance.balanced_accuracy == 0.5


def test_tpr_at_fpr_takes_the_best_allowed_point() -> None:
    assert tpr_at_fpr(np.array([0.0, 0.005, 0.02, 1.0]), np.array([0.0, 0.4, 0.6, 1.0]), 0.01) == 0.4


def test_empty_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        membership_metrics(np.array([]), np.array([0.2]))
