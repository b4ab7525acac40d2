"""Membership metrics agree with scikit-learn and with hand-checked values."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score, roc_curve

from amint_demo.evaluation import membership_metrics, tpr_at_fpr


def test_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    members, nonmembers = rng.beta(3, 2, 3000), rng.beta(2, 3, 2000)
    metrics = membership_metrics(members, nonmembers)
    truth = np.r_[np.ones(3000), np.zeros(2000)]
    scores = np.r_[members, nonmembers]
    assert metrics.auc == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
    assert metrics.balanced_accuracy == pytest.approx(balanced_accuracy_score(truth, scores >= 0.5), abs=1e-12)
    fpr, tpr, _ = roc_curve(truth, scores)
    assert metrics.tpr_at_1pct_fpr == pytest.approx(tpr[fpr <= 0.01].max())
    assert metrics.tpr_at_01pct_fpr == pytest.approx(tpr[fpr <= 0.001].max())
    assert (metrics.n_members, metrics.n_nonmembers) == (3000, 2000)
    assert len(metrics.roc_fpr) <= 200 and metrics.roc_fpr[0] == 0.0 and metrics.roc_tpr[-1] == 1.0
    assert all(np.diff(metrics.roc_fpr) >= 0)


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
