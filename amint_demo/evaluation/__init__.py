"""Metrics and the evaluation protocol."""
from amint_demo.evaluation.evaluate import EvaluationResult, evaluate
from amint_demo.evaluation.metrics import MembershipMetrics, membership_metrics, tpr_at_fpr

__all__ = ["EvaluationResult", "evaluate", "MembershipMetrics", "membership_metrics", "tpr_at_fpr"]
